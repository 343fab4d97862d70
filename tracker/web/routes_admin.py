"""Web: admin (issue 6)."""

from fastapi import APIRouter

router = APIRouter()
