"""What the assistant keeps between runs, outside the repository (DUTY_ASSISTANT_STATE): the feedback database
(feedback.py over store.py; questions masked by mask.py before anything is written) and list-update reports."""
