from app.worker import celery_app


@celery_app.task(name="kitnotes.tidy")
def tidy() -> None:
    """Nothing to tidy: the beat entry and the task's registration are what is tested."""
