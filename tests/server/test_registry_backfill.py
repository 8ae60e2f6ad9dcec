"""`creditline backfill-detail`: fingerprints stored before the detail grid get it back."""

from __future__ import annotations

from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select, update

from server import db, uploads
from server.cli import main
from server.models import Fingerprint
from tests.server.registry_helpers import encode, match, picture, publish_picture


def _grey(seed: int) -> Image.Image:
    return picture(seed).convert("L").convert("RGB")


def _details(app) -> dict[int, bytes | None]:  # type: ignore[no-untyped-def]
    with db.session_scope(app) as session:
        return {r.id: r.detail for r in session.execute(select(Fingerprint.id, Fingerprint.detail))}


def test_backfill_restores_the_detail_grid_and_its_verification(
    app, client, artist, database_url, tmp_path, monkeypatch
):
    work = publish_picture(artist, encode(_grey(50)))
    unreadable = publish_picture(artist, encode(picture(57)), title="lost file")
    stored = _details(app)
    assert stored and all(d is not None and len(d) == 64 for d in stored.values())
    with db.session_scope(app) as session:  # as rows stored before migration 0009 are
        session.execute(update(Fingerprint).values(detail=None))
        lost = session.scalars(
            select(Fingerprint.image_sha256).where(Fingerprint.artwork_id == unreadable["id"])
        ).first()
        # a row whose picture now fingerprints differently (here: a stored hash changed)
        changed = session.scalar(
            select(Fingerprint.id).where(
                Fingerprint.artwork_id == work["id"], Fingerprint.variant == "c15"
            )
        )
        session.execute(update(Fingerprint).where(Fingerprint.id == changed).values(hash="ab" * 32))
    uploads.store_for(app).path_for(lost).unlink()
    faded = encode(Image.eval(_grey(50), lambda v: 170 + v * 85 // 255))
    public_id = work["work"]["public_id"]
    assert [c["work"]["public_id"] for c in match(client, faded).json["candidates"]] == [public_id]

    monkeypatch.setenv("CREDITLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("CREDITLINE_INSTANCE_PATH", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["backfill-detail"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with db.session_scope(app) as session:
        lost_rows = set(
            session.scalars(
                select(Fingerprint.id).where(Fingerprint.artwork_id == unreadable["id"])
            )
        )
    filled = {i: d for i, d in _details(app).items() if d is not None}
    # every row of a readable picture has its grid again, the very one it was stored with
    left = lost_rows | {changed}
    assert lost_rows and filled == {i: d for i, d in stored.items() if i not in left}
    assert f"{len(filled)} rows filled, 1 left as they were" in result.output
    assert f"{len(lost_rows)} unreadable" in result.output
    assert match(client, faded).json["candidates"] == []  # verified on the detail grid again

    again = CliRunner().invoke(main, ["backfill-detail"], catch_exceptions=False)
    assert again.exit_code == 0 and "0 rows filled" in again.output  # only the lost file is left
