"""Pages for the person doing the program."""

from fastapi import APIRouter

router = APIRouter()
