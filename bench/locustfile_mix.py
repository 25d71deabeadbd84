"""The request mix of bench/load_mix.py, for locust (``locust -f bench/locustfile_mix.py``): each
simulated user picks its next request by these weights, with no think time (a closed loop: the
figures are the server's capacity, not a user's pace).  Tokens, places and the photo come from the
JSON file named by ``CIVIC_LOAD_FIXTURES`` (written by bench/load_mix.py).

Weights (per 100 requests), our guess at a working day's mix from the 12345 pattern: most traffic
reads; a resident files one case per ~20 requests.
"""

from __future__ import annotations

import json
import os
import random
import uuid

from locust import HttpUser, task

FIX = json.load(open(os.environ["CIVIC_LOAD_FIXTURES"], encoding="utf-8"))
PHOTO = open(FIX["photo"], "rb").read()


class Mixed(HttpUser):
    def on_start(self):
        self.resident = {"Authorization": f"Bearer {random.choice(FIX['residents'])}"}
        self.staff = {"Authorization": f"Bearer {random.choice(FIX['staff'])}"}

    @task(5)
    def file_with_photo(self):
        files = {"photos": ("phone.jpg", PHOTO, "image/jpeg")}
        data = {"category": random.choice(["public_space_occupation", "waste_sorting", "ebike_charging"]),
                "description": "楼道堆物，影响消防通道，请尽快处理。", "place_id": str(random.choice(FIX["places"]))}
        self.client.post("/api/v1/complaints", data=data, files=files, name="resident: file a case (2 MB photo)",
                         headers={**self.resident, "Idempotency-Key": uuid.uuid4().hex})

    @task(20)
    def read_my_cases(self):
        r = self.client.get("/api/v1/my/complaints", headers=self.resident, name="resident: my cases")
        items = r.json().get("items", []) if r.status_code == 200 else []
        if items:
            self.client.get(f"/api/v1/complaints/{items[0]['id']}", headers=self.resident, name="resident: one case")

    @task(20)
    def staff_queue_and_acknowledge(self):
        r = self.client.get("/api/v1/queue?limit=20", headers=self.staff, name="staff: queue first page")
        r = self.client.get("/api/v1/queue?limit=20&status=routed", headers=self.staff, name="staff: queue, routed")
        items = r.json().get("items", []) if r.status_code == 200 else []
        if items:
            case = random.choice(items)
            with self.client.post(f"/api/v1/complaints/{case['id']}/transitions", headers=self.staff,
                                  json={"action": "acknowledge"}, name="staff: acknowledge",
                                  catch_response=True) as resp:
                if resp.status_code == 409:  # another user acknowledged it first: expected under load
                    resp.success()

    @task(15)
    def village_page(self):
        self.client.get(FIX["village_url"], name="public: village page")

    @task(20)
    def open311(self):
        self.client.get(FIX["open311_url"], name="Open311: requests.json")

    @task(5)
    def me(self):
        self.client.get("/api/v1/me", headers=self.resident, name="baseline: GET /me")
