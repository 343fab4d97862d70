"""Web pages: bills (issue 6)."""

from fastapi import APIRouter

router = APIRouter()
