import pytest

from tracker.stages import classify_action, stage_for


@pytest.mark.parametrize(
    ("status", "stage"),
    [
        ("Introduced", "introduced"),
        ("In Committee", "in_committee"),
        ("Held in Committee", "in_committee"),
        ("Committee Recommended", "in_committee"),
        ("Recommended to Pass", "in_committee"),
        ("Passed", "passed"),
        ("Passed as Amended", "passed"),
        ("Adopted", "enacted"),
        ("Signed by the Mayor", "enacted"),
        ("Enacted", "enacted"),
        ("Vetoed", "vetoed"),
        ("Veto Overridden", "enacted"),
        ("Failed", "failed"),
        ("Failed to Pass", "failed"),
        ("Withdrawn", "withdrawn"),
        ("Placed on File", "filed"),
        ("Received and Filed", "filed"),
        ("Agenda Ready", "introduced"),
        ("Something Else", "other"),
        (None, "other"),
        ("", "other"),
    ],
)
def test_default_stages(status, stage):
    assert stage_for(status) == stage


def test_jurisdiction_override_wins():
    assert stage_for("Adopted", {"adopted": "passed"}) == "passed"
    assert stage_for("Filed", {"Filed": "enacted"}) == "enacted"
    assert stage_for("Passed", {"Filed": "enacted"}) == "passed"


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("Introduced and Referred", "introduction"),
        ("Referred", "referral"),
        ("Recommended to Pass", "committee_passage"),
        ("Recommended Do Not Pass", "committee_failure"),
        ("Passed", "passage"),
        ("Adopted", "adoption"),
        ("Failed", "failure"),
        ("Signed by Mayor", "executive_signature"),
        ("Vetoed", "veto"),
        ("Veto Overridden", "veto_override"),
        ("Withdrawn", "withdrawal"),
        ("Amended", "amendment"),
        ("Placed on File", "filing"),
        ("Held in Committee", "deferral"),
        ("", "other"),
    ],
)
def test_action_classes(name, cls):
    assert classify_action(name) == cls
