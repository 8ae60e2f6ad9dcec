"""A loopback Inkbunny API for contract tests: real HTTP, the documented shapes.

No Inkbunny can run here, so this answers the API scripts Creditline uses the way
wiki.inkbunny.net "API" documents them (and ellypaws/inkbunny's client reads them):

- every script takes multipart/form-data POSTs and answers JSON, errors included: HTTP 200
  ``{"error_code": N, "error_message": "..."}`` (0 invalid login, 2 invalid session id,
  8 no valid submission id, 9 no permission to edit, 40 submission deleted ...);
- ``api_login.php`` (username, password) -> ``{"sid", "user_id", "ratingsmask"}``; only
  accounts with "Enable API Access" may log in;
- ``api_upload.php`` (sid, ``uploadedfile[N]`` files, optional submission_id) ->
  ``{"sid", "submission_id"}``: a new submission, **not public**;
- ``api_editsubmission.php`` (sid, submission_id, title, desc, keywords, ``tag[2..5]``,
  visibility yes|yes_nowatch|no ...) -> ``{"sid", "submission_id"}``;
- ``api_delsubmission.php`` (sid, submission_id) -> ``{"sid", "submission_id"}``;
- ``api_submissions.php`` (sid, submission_ids) -> ``{"sid", "results_count", "submissions"}``
  (the owner sees unpublished ones, ``public`` "t"/"f");
- ``api_search.php`` (sid, username, submissions_per_page, page ...) -> ``{"sid",
  "results_count_all", "pages_count", "page", "submissions": [...]}`` (public only).
"""

from __future__ import annotations

import itertools
import math
import re
import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.peers.loopback import Failure, LoopbackSite, Recorded, json_response

ERRORS = {
    0: "Invalid login. Username and password incorrect or account does not have API Access "
    "enabled in account Settings.",
    1: "No Session ID sent as variable 'sid'.",
    2: "Invalid Session ID sent as variable 'sid'.",
    6: "Submission Hourly Limit Reached. This policy exists to prevent spamming and flooding.",
    8: "No valid submission id given.",
    9: "Current user does not have permission to edit this submission.",
    21: "The file you uploaded was of an unsupported file type.",
    37: "Current user does not have permission to delete this submission.",
    40: "That submission has been deleted.",
}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})


def ib_error(code: int) -> Response:
    return json_response({"error_code": code, "error_message": ERRORS.get(code, "Error")})


class InkbunnyServer(LoopbackSite):
    def __init__(self, accounts: dict[str, str] | None = None) -> None:
        super().__init__()
        self.passwords = dict(accounts or {"artist": "hunter2"})
        self.api_access = set(self.passwords)  # who ticked "Enable API Access"
        self.user_ids = {name: str(100 + i) for i, name in enumerate(self.passwords)}
        self.sessions: dict[str, str] = {}  # sid -> username
        self.submissions: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(3_100_001)
        # Where file URLs point: Inkbunny's media host; tests that download files set this
        # to the server's own address, which then serves ``/files/full/<id>/<name>``.
        self.media_base = "https://tx.ib.metapix.net"

    def add_submission(
        self,
        user: str,
        title: str,
        data: bytes,
        *,
        description: str = "",
        ratings: tuple[int, ...] = (),
        created: str = "2026-01-01 00:00:00.000000+00",
    ) -> dict[str, Any]:
        """A public submission made on the site (``ratings``: the ``tag[N]`` flags set)."""
        with self._lock:
            submission_id = str(next(self._ids))
            self.submissions[submission_id] = {
                "submission_id": submission_id,
                "username": user,
                "user_id": self.user_ids[user],
                "title": title,
                "description": description,
                "keywords": [],
                "ratings": list(ratings),
                "public": True,
                "notified": False,
                "deleted": False,
                "files": [{"name": "art.png", "md5": "", "size": len(data), "data": data}],
                "create_datetime": created,
            }
            return self.submissions[submission_id]

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def _error_response(self, failure: Failure) -> Response:
        if failure.error and failure.error.isdigit():  # an API error: HTTP 200 with a code
            return ib_error(int(failure.error))
        return Response("<html><body><h1>Service Unavailable</h1></body></html>", failure.status)

    def _route(self, request: Request, record: Recorded) -> Response:
        m = re.fullmatch(r"/files/full/(\d+)/(.+)", request.path)
        if m and request.method == "GET":
            submission = self.submissions.get(m.group(1))
            data = (submission or {"files": [{}]})["files"][0].get("data")
            return Response(data or b"", 200 if data else 404, content_type="image/png")
        if request.method != "POST" or not request.path.startswith("/api_"):
            return Response("Not Found", 404)
        if not request.content_type or not request.content_type.startswith("multipart/form-data"):
            return Response("multipart/form-data expected", 400)
        form = {k: v[0] for k, v in record.form.items()}
        script = request.path[1:]
        if script == "api_login.php":
            return self._login(form)
        if not form.get("sid"):
            return ib_error(1)
        user = self.sessions.get(form["sid"])
        if user is None:
            return ib_error(2)
        handlers = {
            "api_upload.php": self._upload,
            "api_editsubmission.php": self._edit,
            "api_delsubmission.php": self._delete,
            "api_submissions.php": self._details,
            "api_search.php": self._search,
        }
        handler = handlers.get(script)
        if handler is None:
            return Response("Not Found", 404)
        return handler(user, form, record)

    def _login(self, form: dict[str, str]) -> Response:
        name = next(
            (n for n in self.passwords if n.lower() == form.get("username", "").lower()), None
        )
        if (
            name is None
            or self.passwords[name] != form.get("password")
            or name not in self.api_access
        ):
            return ib_error(0)
        sid = secrets.token_hex(13)
        self.sessions[sid] = name
        return json_response({"sid": sid, "user_id": self.user_ids[name], "ratingsmask": "11111"})

    def _owned(self, user: str, form: dict[str, str]) -> dict[str, Any] | Response:
        submission = self.submissions.get(form.get("submission_id", ""))
        if submission is None:
            return ib_error(8)
        if submission["deleted"]:
            return ib_error(40)
        if submission["username"] != user:
            return ib_error(9)
        return submission

    def _upload(self, user: str, form: dict[str, str], record: Recorded) -> Response:
        files = [f for name, f in sorted(record.files.items()) if name.startswith("uploadedfile[")]
        if not files:
            return json_response({"error_code": 18, "error_message": "ZIP upload failed."})
        if any(f["content_type"] not in IMAGE_TYPES for f in files):
            return ib_error(21)
        submission_id = str(next(self._ids))
        self.submissions[submission_id] = {
            "submission_id": submission_id,
            "username": user,
            "user_id": self.user_ids[user],
            "title": "",
            "description": "",
            "keywords": [],
            "ratings": [],
            "public": False,
            "notified": False,
            "deleted": False,
            "files": [{"name": f["filename"], "md5": f["md5"], "size": f["size"]} for f in files],
            "create_datetime": "2026-01-01 00:00:00.000000+00",
        }
        return json_response({"sid": form["sid"], "submission_id": submission_id})

    def _edit(self, user: str, form: dict[str, str], record: Recorded) -> Response:
        submission = self._owned(user, form)
        if isinstance(submission, Response):
            return submission
        if "title" in form:
            submission["title"] = form["title"]
        if "desc" in form:
            submission["description"] = form["desc"]
        if "keywords" in form:  # sending keywords replaces the whole list
            submission["keywords"] = [k for k in form["keywords"].replace(" ", ",").split(",") if k]
        for n in (2, 3, 4, 5):
            value = form.get(f"tag[{n}]")
            if value in ("yes", "no"):
                ratings = set(submission["ratings"]) - {n}
                submission["ratings"] = sorted(ratings | ({n} if value == "yes" else set()))
        visibility = form.get("visibility")
        if visibility in ("yes", "yes_nowatch"):
            submission["public"] = True
            submission["notified"] = visibility == "yes"
        elif visibility == "no":
            submission["public"] = False
        return json_response({"sid": form["sid"], "submission_id": submission["submission_id"]})

    def _delete(self, user: str, form: dict[str, str], record: Recorded) -> Response:
        submission = self._owned(user, form)
        if isinstance(submission, Response):
            return submission
        submission["deleted"] = True
        return json_response({"sid": form["sid"], "submission_id": submission["submission_id"]})

    def _summary(self, submission: dict[str, Any]) -> dict[str, Any]:
        sid_id, first = submission["submission_id"], submission["files"][0]["name"]
        rating = max(submission["ratings"], default=0)
        return {
            "submission_id": sid_id,
            "hidden": "f",
            "username": submission["username"],
            "user_id": submission["user_id"],
            "create_datetime": submission["create_datetime"],
            "file_name": first,
            "title": submission["title"],
            "deleted": "t" if submission["deleted"] else "f",
            "public": "t" if submission["public"] else "f",
            "mimetype": "image/png",
            "pagecount": str(len(submission["files"])),
            "rating_id": "2" if rating >= 4 else "1" if rating else "0",
            "rating_name": "Adult" if rating >= 4 else "Mature" if rating else "General",
            "file_url_full": f"{self.media_base}/files/full/{sid_id}/{first}",
            "thumbnail_url_medium": f"{self.media_base}/thumbnails/medium/{sid_id}.jpg",
            "submission_type_id": "1",
            "type_name": "Picture/Pinup",
        }

    def _details(self, user: str, form: dict[str, str], record: Recorded) -> Response:
        wanted = [i for i in form.get("submission_ids", "").split(",") if i]
        found = []
        for submission_id in wanted:
            submission = self.submissions.get(submission_id)
            if submission is None or submission["deleted"]:
                continue
            if not submission["public"] and submission["username"] != user:
                continue
            found.append(
                {
                    **self._summary(submission),
                    **(
                        {"description": submission["description"]}
                        if form.get("show_description") == "yes"
                        else {}
                    ),
                    "keywords": [{"keyword_name": k} for k in submission["keywords"]],
                }
            )
        return json_response(
            {"sid": form["sid"], "results_count": len(found), "submissions": found}
        )

    def _search(self, user: str, form: dict[str, str], record: Recorded) -> Response:
        per_page = max(1, min(int(form.get("submissions_per_page", "30")), 100))
        page = max(1, int(form.get("page", "1")))
        name = form.get("username", "").lower()
        matches = [
            s
            for s in reversed(self.submissions.values())
            if s["public"] and not s["deleted"] and (not name or s["username"].lower() == name)
        ]
        chunk = matches[(page - 1) * per_page : page * per_page]
        return json_response(
            {
                "sid": form["sid"],
                "user_location": "",
                "results_count_all": str(len(matches)),
                "results_count_thispage": len(chunk),
                "pages_count": max(1, math.ceil(len(matches) / per_page)),
                "page": page,
                "search_params": [],
                "submissions": [self._summary(s) for s in chunk],
            }
        )
