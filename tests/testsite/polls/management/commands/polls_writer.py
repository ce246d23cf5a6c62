"""Write to the polls in a loop, as production does while an export runs.

Questions are named ``gen <n>``. Each transaction deletes the oldest question with its
choices, adds question ``gen <n+1>`` with its choices, and sets every choice's votes to
``n+1``. So at any instant the questions are ``--questions`` consecutive generations,
each with ``--choices`` choices, and every vote count is the newest generation. After
each commit ``--progress`` holds the newest generation. Runs until it is terminated.
"""

import os
import time
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from testsite.polls.models import Choice, Question


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--progress", type=Path, required=True)
        parser.add_argument("--questions", type=int, required=True)
        parser.add_argument("--choices", type=int, required=True)

    def handle(self, *, database, progress, questions, choices, **_):
        generation = questions
        while True:
            with transaction.atomic(using=database):
                oldest = f"gen {generation - questions + 1}"
                Question.objects.using(database).filter(question_text=oldest).delete()
                question = Question.objects.using(database).create(
                    question_text=f"gen {generation + 1}", pub_date=timezone.now()
                )
                Choice.objects.using(database).bulk_create(
                    Choice(question=question, choice_text=f"choice {c}") for c in range(choices)
                )
                Choice.objects.using(database).update(votes=generation + 1)
            generation += 1
            partial = progress.with_name(progress.name + ".partial")
            partial.write_text(str(generation))
            os.replace(partial, progress)
            time.sleep(0.002)  # leaves the machine's other core some time; not for timing
