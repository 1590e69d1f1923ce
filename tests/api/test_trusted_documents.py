"""Trusted documents: the UI's documents by id (the persisted-documents convention), and with
CMGRAPH_TRUSTED_DOCUMENTS=only, people (JWT) may run nothing else; API tokens run anything."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwts import AUDIENCE, ISSUER, person_token, write_jwks
from pytest import MonkeyPatch

from cmgraph.app import create_app
from cmgraph.config import JwtSettings, Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.web.trusted_documents import TrustedDocuments, document_id
from tests.support import Api

FREE_QUERY = "{ serviceLines { code } }"
UI_FOLDER = resources.files("cmgraph.web") / "ui" / "graphql"


def ui_document(name: str) -> str:
    return (UI_FOLDER / f"{name}.graphql").read_text("utf-8")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def app_client(
    settings: Settings,
    db: Database,
    book: RuleBook,
    tmp_path: Path,
    key: rsa.RSAPrivateKey,
    *,
    only: bool,
) -> httpx.AsyncClient:
    configured = dataclasses.replace(
        settings,
        trusted_documents_only=only,
        jwt=JwtSettings(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks=str(write_jwks(tmp_path / "jwks.json", key)),
            leeway_seconds=0,
        ),
    )
    app = create_app(configured, db=db, book=book)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
async def only(
    settings: Settings, db: Database, book: RuleBook, tmp_path: Path, key: rsa.RSAPrivateKey
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, db, book, tmp_path, key, only=True) as client:
        yield client


@pytest.fixture
async def free(
    settings: Settings, db: Database, book: RuleBook, tmp_path: Path, key: rsa.RSAPrivateKey
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, db, book, tmp_path, key, only=False) as client:
        yield client


async def post(client: httpx.AsyncClient, bearer: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {bearer}"})


def test_the_trusted_documents_are_the_uis_files_by_sha256() -> None:
    trusted = TrustedDocuments.of_ui()
    names = [f.name for f in UI_FOLDER.iterdir() if f.name.endswith(".graphql")]

    assert len(trusted.by_id) == len(names) > 0
    text = ui_document("Clients")
    assert trusted.text_of(document_id(text)) == text
    assert document_id(text).startswith("sha256:") and len(document_id(text)) == 7 + 64


async def test_a_person_runs_a_ui_document_by_id_or_as_its_text(
    only: httpx.AsyncClient, api: Api, key: rsa.RSAPrivateKey
) -> None:
    person = person_token(key, api.slug)
    text = ui_document("Clients")
    variables = {"search": "nobody", "first": 5}

    by_id = await post(only, person, {"documentId": document_id(text), "variables": variables})
    by_text = await post(only, person, {"query": text, "variables": variables})

    assert by_id.status_code == by_text.status_code == 200, by_id.text
    assert "errors" not in by_id.json()
    assert by_id.json() == by_text.json()


async def test_a_persons_free_query_is_refused_when_only_trusted_documents_run(
    only: httpx.AsyncClient, api: Api, key: rsa.RSAPrivateKey
) -> None:
    response = await post(only, person_token(key, api.slug), {"query": FREE_QUERY})

    assert response.status_code == 403
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
    # A document that differs by one character is not the trusted one.
    changed = ui_document("Clients").replace("first", "first ", 1)
    assert (await post(only, person_token(key, api.slug), {"query": changed})).status_code == 403


async def test_an_integration_token_keeps_free_queries(only: httpx.AsyncClient, api: Api) -> None:
    response = await post(only, api.token, {"query": FREE_QUERY})

    assert response.status_code == 200
    assert response.json()["data"]["serviceLines"]


async def test_without_the_setting_people_run_free_queries(
    free: httpx.AsyncClient, api: Api, key: rsa.RSAPrivateKey
) -> None:
    response = await post(free, person_token(key, api.slug), {"query": FREE_QUERY})

    assert response.status_code == 200, response.text


async def test_an_unknown_document_id_is_a_clear_400(free: httpx.AsyncClient, api: Api) -> None:
    response = await post(free, api.token, {"documentId": "sha256:" + "0" * 64})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_FOUND"


def test_the_setting_takes_only_or_off(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("CMGRAPH_TRUSTED_DOCUMENTS", "only")
    assert Settings.from_env().trusted_documents_only is True
    monkeypatch.setenv("CMGRAPH_TRUSTED_DOCUMENTS", "off")
    assert Settings.from_env().trusted_documents_only is False
    monkeypatch.setenv("CMGRAPH_TRUSTED_DOCUMENTS", "sometimes")
    with pytest.raises(ValueError, match="CMGRAPH_TRUSTED_DOCUMENTS"):
        Settings.from_env()
