"""Files in Teams: a bot may not attach a file to a message; it offers it with a file-consent
card in the person's 1:1 chat, and uploads it to the URL Teams gives when the person accepts.

The accepted card's context names the initiative's conversation and the format; on accept the
export is made again through the core (`export FORMAT` with that conversation as a re-checked
hint), so a forged context reaches nothing its sender is not a member of.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from botbuilder.schema import Attachment

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"


def consent_card(filename: str, size: int, title: str, conversation_id: str, export_format: str) -> Attachment:
    context = {"alignbot_conversation": conversation_id, "format": export_format}
    return Attachment(
        content_type=CONSENT,
        name=filename,
        content={
            "description": title,
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    )


def info_card(upload_info: dict[str, Any]) -> Attachment:
    return Attachment(
        content_type=INFO,
        name=upload_info.get("name", ""),
        content_url=upload_info.get("contentUrl", ""),
        content={"uniqueId": upload_info.get("uniqueId", ""), "fileType": upload_info.get("fileType", "")},
    )


async def upload(upload_url: str, content: bytes) -> None:
    """One PUT of the whole file, as Teams' upload sessions accept for small files."""
    headers = {
        "Content-Length": str(len(content)),
        "Content-Range": f"bytes 0-{len(content) - 1}/{len(content)}",
    }
    async with aiohttp.ClientSession() as http, http.put(upload_url, data=content, headers=headers) as resp:
        resp.raise_for_status()
