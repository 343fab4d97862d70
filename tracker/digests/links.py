"""Links a digest carries back to the tracker's web app (``[digests] public_url``): each bill's page, the
subscriptions page, and a one-click unsubscribe link.

The unsubscribe link names its subscription in a token signed (itsdangerous, HMAC-SHA1 over a salted key)
with the secret in the environment variable ``[digests] secret_env``; it works without logging in, since
the signature is the credential. A token whose signature does not verify is refused (forged or made with
another secret). A token is good for one removal: once its subscription is removed (``state =
"removed"``, which is final: a removed subscription cannot be resumed), the same token is refused as used.
The secret is never logged, stored or put in a URL; only the signed subscription id is.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from tracker.config import Config

SALT = "tracker.unsubscribe.v1"


@dataclass(frozen=True)
class Links:
    base: str | None
    secret: str | None

    @classmethod
    def of(cls, config: Config) -> Links:
        return cls(config.digests.public_url, config.digests.secret())

    def bill(self, bill_id: int) -> str | None:
        return f"{self.base}/bills/{bill_id}" if self.base else None

    def manage(self) -> str | None:
        return f"{self.base}/subscriptions" if self.base else None

    def unsubscribe(self, subscription_id: int) -> str | None:
        if not self.base or not self.secret:
            return None
        return f"{self.base}/unsubscribe/{make_token(self.secret, subscription_id)}"


def make_token(secret: str, subscription_id: int) -> str:
    return str(URLSafeSerializer(secret, salt=SALT).dumps({"s": subscription_id}))


def read_token(secret: str | None, token: str) -> int | None:
    """The subscription id a token was signed for, or None (forged, damaged, or no secret configured)."""
    if not secret or len(token) > 200:
        return None
    try:
        data = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        return None
    sub_id = data.get("s") if isinstance(data, dict) else None
    if not isinstance(sub_id, int) or isinstance(sub_id, bool) or not 0 < sub_id < 2**31:
        return None
    return sub_id
