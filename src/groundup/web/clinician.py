"""Pages for clinicians and admins."""

from fastapi import APIRouter

router = APIRouter()
