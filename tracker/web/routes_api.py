"""Web: api (issue 6)."""

from fastapi import APIRouter

router = APIRouter()
