"""Web: subscriptions (issue 6)."""

from fastapi import APIRouter

router = APIRouter()
