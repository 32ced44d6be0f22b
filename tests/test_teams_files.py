"""Exports in Teams: a file-consent card in the 1:1 chat, the upload on accept, forged contexts refused."""

from __future__ import annotations

import io
import uuid
import zipfile

from tests.support import message_activity

CONSENT = "application/vnd.microsoft.teams.card.file.consent"


def consent_invoke(connector, context: dict, *, user: str = "aad-1", conversation: str = "personal-1") -> dict:
    activity = message_activity("", service_url=connector.url, user=user, conversation=conversation,
                                conversation_type="personal")  # fmt: skip
    activity.update(type="invoke", name="fileConsent/invoke", id=uuid.uuid4().hex)
    activity["value"] = {
        "type": "fileUpload",
        "action": "accept",
        "context": context,
        "uploadInfo": {
            "name": "report.zip",
            "uploadUrl": connector.url + "upload/report.zip",
            "contentUrl": "https://contoso.example/report.zip",
            "uniqueId": "u-1",
            "fileType": "zip",
        },
    }
    return activity


async def test_export_in_a_channel_is_offered_in_the_1_1_chat_and_uploaded_on_accept(server, connector):
    personal = message_activity("help", service_url=connector.url, conversation="personal-1",
                                conversation_type="personal")  # fmt: skip
    await server.teams(personal)  # the person has a 1:1 chat with the bot
    await server.teams(message_activity('usecase propose "Churn model" --impact 4', service_url=connector.url))
    await server.teams(message_activity("export csv", service_url=connector.url))
    seen = list(await connector.wait_for(5))
    offers = [a for act in seen for a in act.get("attachments", []) if a["contentType"] == CONSENT]
    assert len(offers) == 1
    offer_activity = next(act for act in seen if CONSENT in str(act.get("attachments")))
    assert offer_activity["_conversation_id"] == "personal-1"
    context = offers[0]["content"]["acceptContext"]
    assert context == {"alignbot_conversation": "conv-1", "format": "csv"}
    assert any("1:1 chat" in act.get("text", "") for act in seen if act["_conversation_id"] == "conv-1")

    before = len(connector.activities)
    resp = await server.teams(consent_invoke(connector, context))
    assert resp.status == 200
    ((_name, content, headers),) = connector.uploads
    assert headers["Content-Range"] == f"bytes 0-{len(content) - 1}/{len(content)}"
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        assert any("Churn model" in z.read(n).decode() for n in z.namelist())
    info = await connector.wait_for(before + 1)
    assert info[-1]["attachments"][0]["contentType"] == "application/vnd.microsoft.teams.card.file.info"
    assert info[-1]["attachments"][0]["contentUrl"] == "https://contoso.example/report.zip"


async def test_a_forged_consent_context_uploads_nothing(server, connector):
    await server.teams(message_activity('usecase propose "Theirs"', service_url=connector.url, user="aad-2",
                                        conversation="conv-2"))  # fmt: skip
    await connector.wait_for(1)
    resp = await server.teams(consent_invoke(connector, {"alignbot_conversation": "conv-2", "format": "csv"}))
    assert resp.status == 200
    assert connector.uploads == []
    refusal = await connector.wait_for(2)
    assert "not part of" in str(refusal[-1])
