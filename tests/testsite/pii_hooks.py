"""A project's own detector of personal fields: its CRM's notes are about people."""

from devdata_core import hookimpl
from devdata_core.anonymisation.detection import Suspicion


@hookimpl
def devdata_pii_detectors():
    def crm_notes(field):
        if field.model._meta.app_label == "crm" and field.name == "notes":
            return Suspicion("staff write about contacts here", "paragraph")
        return None

    return [crm_notes]
