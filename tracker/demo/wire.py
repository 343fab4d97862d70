"""How the Legistar Web API writes things on the wire: date formats, row versions, GUIDs, object schemas.

Everything here is modelled on recorded responses (../shared/portal-samples/legistar-api/):

* local dates carry no offset and always have seconds: ``"2024-10-31T00:00:00"``;
* ``*Utc`` stamps are SQL Server ``datetime`` values (1/300 s ticks) serialised by Json.NET with the
  trailing zeros of the fraction dropped: ``"2024-12-13T01:07:23.667"``, ``"2014-05-24T04:10:20.03"``,
  ``"2014-05-24T04:10:20"``;
* ``*RowVersion`` is a base64 SQL ``rowversion`` (8 bytes, big-endian): ``"AAAAAAJpCV0="``;
* GUIDs are upper-case.

The schemas list every field of each object in the order Legistar sends them, with the OData (Edm) type
that ``$filter`` and ``$orderby`` type-check against.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, overload

# Edm type names used by the OData layer.
INT: Final = "Int32"
DECIMAL: Final = "Decimal"
STRING: Final = "String"
DATETIME: Final = "DateTime"
BOOLEAN: Final = "Boolean"
GUID: Final = "Guid"
COLLECTION: Final = "Collection"

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@overload
def format_local(value: datetime) -> str: ...
@overload
def format_local(value: None) -> None: ...
def format_local(value: datetime | None) -> str | None:
    """A local wall-clock date or date-time as Legistar writes it (no offset, no fraction)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def format_utc(ts: float | None) -> str | None:
    """A UTC instant (epoch seconds) as a ``*Utc`` stamp: SQL datetime precision, variable fraction."""
    if ts is None:
        return None
    ticks = round(ts * 300)  # SQL Server datetime keeps 1/300 s
    secs, rem = divmod(ticks, 300)
    ms = round(rem * 10 / 3)  # 0 .. 997, ends in 0, 3 or 7
    dt = _EPOCH + timedelta(seconds=secs)
    text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    if ms:
        text += ("." + f"{ms:03d}").rstrip("0")
    return text


def to_ts(value: datetime) -> float:
    """Epoch seconds of an aware datetime, or of a naive one taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_ts(ts: float) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(ts, UTC)


def rowversion(value: int) -> str:
    """A SQL ``rowversion`` counter as Legistar sends it (base64 of 8 big-endian bytes)."""
    return base64.b64encode(value.to_bytes(8, "big")).decode("ascii")


def stable_uuid(*parts: object) -> uuid.UUID:
    """A deterministic version-4-shaped UUID derived from ``parts`` (so GUIDs need no storage)."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=16).digest()
    return uuid.UUID(bytes=digest, version=4)


def guid(*parts: object) -> str:
    """A deterministic upper-case GUID, as in ``MatterGuid``."""
    return str(stable_uuid(*parts)).upper()


@dataclass(frozen=True, eq=False)
class Entity:
    """One Legistar object type: its name, its key field and its fields (name -> Edm type) in wire order."""

    name: str
    key: str
    fields: dict[str, str]

    def blank(self) -> dict[str, Any]:
        """A row with every field null, in wire order (callers fill in what they know)."""
        return dict.fromkeys(self.fields)


MATTER: Final = Entity(
    "Matter",
    "MatterId",
    {
        "MatterId": INT,
        "MatterGuid": GUID,
        "MatterLastModifiedUtc": DATETIME,
        "MatterRowVersion": STRING,
        "MatterFile": STRING,
        "MatterName": STRING,
        "MatterTitle": STRING,
        "MatterTypeId": INT,
        "MatterTypeName": STRING,
        "MatterStatusId": INT,
        "MatterStatusName": STRING,
        "MatterBodyId": INT,
        "MatterBodyName": STRING,
        "MatterIntroDate": DATETIME,
        "MatterAgendaDate": DATETIME,
        "MatterPassedDate": DATETIME,
        "MatterEnactmentDate": DATETIME,
        "MatterEnactmentNumber": STRING,
        "MatterRequester": STRING,
        "MatterNotes": STRING,
        "MatterVersion": STRING,
        "MatterCost": DECIMAL,
        **{f"MatterText{i}": STRING for i in range(1, 6)},
        "MatterDate1": DATETIME,
        "MatterDate2": DATETIME,
        **{f"MatterEXText{i}": STRING for i in range(1, 12)},
        **{f"MatterEXDate{i}": DATETIME for i in range(1, 11)},
        "MatterAgiloftId": INT,
        "MatterReference": STRING,
        "MatterRestrictViewViaWeb": BOOLEAN,
        "MatterReports": COLLECTION,
    },
)

MATTER_HISTORY: Final = Entity(
    "MatterHistory",
    "MatterHistoryId",
    {
        "MatterHistoryId": INT,
        "MatterHistoryGuid": GUID,
        "MatterHistoryLastModifiedUtc": DATETIME,
        "MatterHistoryRowVersion": STRING,
        "MatterHistoryEventId": INT,
        "MatterHistoryAgendaSequence": INT,
        "MatterHistoryMinutesSequence": INT,
        "MatterHistoryAgendaNumber": STRING,
        "MatterHistoryVideo": INT,
        "MatterHistoryVideoIndex": INT,
        "MatterHistoryVersion": STRING,
        "MatterHistoryAgendaNote": STRING,
        "MatterHistoryMinutesNote": STRING,
        "MatterHistoryActionDate": DATETIME,
        "MatterHistoryActionId": INT,
        "MatterHistoryActionName": STRING,
        "MatterHistoryActionText": STRING,
        "MatterHistoryActionBodyId": INT,
        "MatterHistoryActionBodyName": STRING,
        "MatterHistoryPassedFlag": INT,
        "MatterHistoryPassedFlagName": STRING,
        "MatterHistoryRollCallFlag": INT,
        "MatterHistoryFlagExtra": INT,
        "MatterHistoryTally": STRING,
        "MatterHistoryAccelaRecordId": STRING,
        "MatterHistoryConsent": INT,
        "MatterHistoryMoverId": INT,
        "MatterHistoryMoverName": STRING,
        "MatterHistorySeconderId": INT,
        "MatterHistorySeconderName": STRING,
        "MatterHistoryMatterStatusId": INT,
    },
)

MATTER_SPONSOR: Final = Entity(
    "MatterSponsor",
    "MatterSponsorId",
    {
        "MatterSponsorId": INT,
        "MatterSponsorGuid": GUID,
        "MatterSponsorLastModifiedUtc": DATETIME,
        "MatterSponsorRowVersion": STRING,
        "MatterSponsorMatterId": INT,
        "MatterSponsorMatterVersion": STRING,
        "MatterSponsorNameId": INT,
        "MatterSponsorBodyId": INT,
        "MatterSponsorName": STRING,
        "MatterSponsorActiveFlag": INT,
        "MatterSponsorSequence": INT,
        "MatterSponsorLinkFlag": INT,
    },
)

MATTER_ATTACHMENT: Final = Entity(
    "MatterAttachment",
    "MatterAttachmentId",
    {
        "MatterAttachmentId": INT,
        "MatterAttachmentGuid": GUID,
        "MatterAttachmentLastModifiedUtc": DATETIME,
        "MatterAttachmentRowVersion": STRING,
        "MatterAttachmentName": STRING,
        "MatterAttachmentHyperlink": STRING,
        "MatterAttachmentFileName": STRING,
        "MatterAttachmentMatterVersion": STRING,
        "MatterAttachmentIsHyperlink": BOOLEAN,
        "MatterAttachmentBinary": STRING,
        "MatterAttachmentIsSupportingDocument": BOOLEAN,
        "MatterAttachmentShowOnInternetPage": BOOLEAN,
        "MatterAttachmentIsMinuteOrder": BOOLEAN,
        "MatterAttachmentIsBoardLetter": BOOLEAN,
        "MatterAttachmentAgiloftId": INT,
        "MatterAttachmentDescription": STRING,
        "MatterAttachmentPrintWithReports": BOOLEAN,
        "MatterAttachmentSort": INT,
    },
)

# No recorded response exists for the following objects (see the samples README, "What is NOT here"):
# their field sets follow the Legistar Web API object model, kept to the commonly used fields.
BODY: Final = Entity(
    "Body",
    "BodyId",
    {
        "BodyId": INT,
        "BodyGuid": GUID,
        "BodyLastModifiedUtc": DATETIME,
        "BodyRowVersion": STRING,
        "BodyName": STRING,
        "BodyTypeId": INT,
        "BodyTypeName": STRING,
        "BodyMeetFlag": INT,
        "BodyActiveFlag": INT,
        "BodySort": INT,
        "BodyDescription": STRING,
        "BodyContactNameId": INT,
        "BodyContactFullName": STRING,
        "BodyContactPhone": STRING,
        "BodyContactEmail": STRING,
        "BodyUsedControlFlag": INT,
        "BodyNumberOfMembers": INT,
        "BodyUsedActingFlag": INT,
        "BodyUsedTargetFlag": INT,
        "BodyUsedSponsorFlag": INT,
    },
)

MATTER_STATUS: Final = Entity(
    "MatterStatus",
    "MatterStatusId",
    {
        "MatterStatusId": INT,
        "MatterStatusGuid": GUID,
        "MatterStatusLastModifiedUtc": DATETIME,
        "MatterStatusRowVersion": STRING,
        "MatterStatusName": STRING,
        "MatterStatusSort": INT,
        "MatterStatusActiveFlag": INT,
        "MatterStatusDescription": STRING,
        "MatterStatusUsedFlag": INT,
    },
)

MATTER_TYPE: Final = Entity(
    "MatterType",
    "MatterTypeId",
    {
        "MatterTypeId": INT,
        "MatterTypeGuid": GUID,
        "MatterTypeLastModifiedUtc": DATETIME,
        "MatterTypeRowVersion": STRING,
        "MatterTypeName": STRING,
        "MatterTypeSort": INT,
        "MatterTypeActiveFlag": INT,
        "MatterTypeDescription": STRING,
        "MatterTypeUsedFlag": INT,
    },
)

PERSON: Final = Entity(
    "Person",
    "PersonId",
    {
        "PersonId": INT,
        "PersonGuid": GUID,
        "PersonLastModifiedUtc": DATETIME,
        "PersonRowVersion": STRING,
        "PersonFirstName": STRING,
        "PersonLastName": STRING,
        "PersonFullName": STRING,
        "PersonActiveFlag": INT,
        "PersonCanViewFlag": INT,
        "PersonUsedSponsorFlag": INT,
        "PersonEmail": STRING,
        "PersonWWW": STRING,
    },
)

# Meetings. Event and EventItem follow the recorded responses (legistar-api/metro/event.json, the Oakland
# event list and legistar-api/oakland/event-8172-eventitems.json), field for field and in their order.
EVENT: Final = Entity(
    "Event",
    "EventId",
    {
        "EventId": INT,
        "EventGuid": GUID,
        "EventLastModifiedUtc": DATETIME,
        "EventRowVersion": STRING,
        "EventBodyId": INT,
        "EventBodyName": STRING,
        "EventDate": DATETIME,
        "EventTime": STRING,
        "EventVideoStatus": STRING,
        "EventAgendaStatusId": INT,
        "EventAgendaStatusName": STRING,
        "EventMinutesStatusId": INT,
        "EventMinutesStatusName": STRING,
        "EventLocation": STRING,
        "EventAgendaFile": STRING,
        "EventMinutesFile": STRING,
        "EventAgendaLastPublishedUTC": DATETIME,
        "EventMinutesLastPublishedUTC": DATETIME,
        "EventComment": STRING,
        "EventVideoPath": STRING,
        "EventMedia": STRING,
        "EventInSiteURL": STRING,
        "EventItems": COLLECTION,
    },
)

EVENT_ITEM: Final = Entity(
    "EventItem",
    "EventItemId",
    {
        "EventItemId": INT,
        "EventItemGuid": GUID,
        "EventItemLastModifiedUtc": DATETIME,
        "EventItemRowVersion": STRING,
        "EventItemEventId": INT,
        "EventItemAgendaSequence": INT,
        "EventItemMinutesSequence": INT,
        "EventItemAgendaNumber": STRING,
        "EventItemVideo": INT,
        "EventItemVideoIndex": INT,
        "EventItemVersion": STRING,
        "EventItemAgendaNote": STRING,
        "EventItemMinutesNote": STRING,
        "EventItemActionId": INT,
        "EventItemActionName": STRING,
        "EventItemActionText": STRING,
        "EventItemPassedFlag": INT,
        "EventItemPassedFlagName": STRING,
        "EventItemRollCallFlag": INT,
        "EventItemFlagExtra": INT,
        "EventItemTitle": STRING,
        "EventItemTally": STRING,
        "EventItemAccelaRecordId": STRING,
        "EventItemConsent": INT,
        "EventItemMoverId": INT,
        "EventItemMover": STRING,
        "EventItemSeconderId": INT,
        "EventItemSeconder": STRING,
        "EventItemMatterId": INT,
        "EventItemMatterGuid": GUID,
        "EventItemMatterFile": STRING,
        "EventItemMatterName": STRING,
        "EventItemMatterType": STRING,
        "EventItemMatterStatus": STRING,
        "EventItemMatterAttachments": COLLECTION,
    },
)

# No recorded Vote or OfficeRecord response exists: the field sets are the Legistar Web API's Vote and
# OfficeRecord objects (its help pages), in their order.
VOTE: Final = Entity(
    "Vote",
    "VoteId",
    {
        "VoteId": INT,
        "VoteGuid": GUID,
        "VoteLastModifiedUtc": DATETIME,
        "VoteRowVersion": STRING,
        "VotePersonId": INT,
        "VotePersonName": STRING,
        "VoteValueId": INT,
        "VoteValueName": STRING,
        "VoteSort": INT,
        "VoteResult": INT,
        "VoteEventItemId": INT,
    },
)

OFFICE_RECORD: Final = Entity(
    "OfficeRecord",
    "OfficeRecordId",
    {
        "OfficeRecordId": INT,
        "OfficeRecordGuid": GUID,
        "OfficeRecordLastModifiedUtc": DATETIME,
        "OfficeRecordRowVersion": STRING,
        "OfficeRecordFirstName": STRING,
        "OfficeRecordLastName": STRING,
        "OfficeRecordEmail": STRING,
        "OfficeRecordFullName": STRING,
        "OfficeRecordStartDate": DATETIME,
        "OfficeRecordEndDate": DATETIME,
        "OfficeRecordSort": INT,
        "OfficeRecordPersonId": INT,
        "OfficeRecordBodyId": INT,
        "OfficeRecordBodyName": STRING,
        "OfficeRecordTitle": STRING,
        "OfficeRecordVoteDivider": DECIMAL,
        "OfficeRecordExtendFlag": INT,
        "OfficeRecordMemberTypeId": INT,
        "OfficeRecordMemberType": STRING,
        "OfficeRecordSupportNameId": INT,
        "OfficeRecordSupportFullName": STRING,
    },
)
