"""Reminders: which ones are due and when (`timing`), what they say (`words`), and how they
leave the server — by e-mail (`mail`) and by Web Push (`push`).

`timing` and `words` are pure: time and the program come in as arguments. The use cases
that read the database and queue the work are in `groundup.services.reminders`.
"""
