"""New-rep ramp-up (新人通关): a path of tasks — quizzes drawn from the knowledge cards, reading a card set,
shadowing confirmed by the manager — whose completion unlocks rights (`[ramp] rights`).

- `path`: the tasks as admins write them (one line each) and the default path made from the knowledge base;
- `quiz`: questions generated from the cards at run time (pure);
- `service`: the use cases chat, CLI and console share (define a path, enrol, answer, confirm, progress, gate);
(The chat routes, 「通关」 and the answer buttons, are handlers/chat/ramp.py.)
"""
