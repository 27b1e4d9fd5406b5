"""The simulator's route tables, one per area of the API (``/api/``) and two for the control API
(``/_sandbox/``); ``app.build_app`` adds them all."""
