"""The village's public page shows voucher photos with faces and number plates blurred; the
committees who draft and sign the disclosure see them as taken (issue #19), on a real corpus photo."""

from __future__ import annotations

from tests.blur_helpers import image, mean_abs_diff, multipart, phone_jpeg, run_blur_jobs, truth
from tests.village.conftest import finance_body

PLATES = "hyperlpr_test_img.jpg"


def _plate_boxes(size):
    from PIL import Image

    from tests.blur_helpers import CORPUS

    with Image.open(CORPUS / PLATES) as im:
        ow, oh = im.size
    sx, sy = size[0] / ow, size[1] / oh
    return [(int(x * sx), int(y * sy), int((x + w) * sx), int((y + h) * sy)) for x, y, w, h in truth()[PLATES]["plates"]]


def test_public_page_shows_the_voucher_blurred_and_the_committee_the_original(client, vil):
    r = client.post("/api/v1/villages/V-T/disclosures", json=finance_body(), headers=vil["h_hua"])
    did, line = r.json["id"], r.json["lines"][1]["id"]
    body, ctype = multipart({}, [("photos", "car.jpg", phone_jpeg(PLATES, sideways=True))])
    up = client.post(f"/api/v1/village-disclosures/{did}/lines/{line}/vouchers", headers=vil["h_hua"],
                     data=body, content_type=ctype)
    assert up.status_code == 201, up.json
    vid, api_url = up.json[0]["id"], up.json[0]["url"]
    for action, h in (("submit", "h_hua"), ("sign_off", "h_jin"), ("publish", "h_hua")):
        assert client.post(f"/api/v1/village-disclosures/{did}/transitions", json={"action": action},
                           headers=vil[h]).status_code == 200

    # Published, not yet blurred: the public page and a villager get nothing; the committee the original.
    pending = client.get(f"/villages/V-T/vouchers/{vid}.jpg")
    assert pending.status_code == 409 and pending.get_json()["error"]["code"] == "photo_blur_pending"
    assert client.get(api_url, headers=vil["h_villager"]).status_code == 409
    original = client.get(api_url, headers=vil["h_hua"])
    assert original.status_code == 200
    # The two committees see it as taken; the town (street centre) reads the disclosure but gets the
    # blurred rendition only, as a case's oversight does: nothing before it exists.
    assert client.get(api_url, headers=vil["h_jin"]).data == original.data
    town = client.get(api_url, headers=vil["h_wang"])
    assert town.status_code == 409 and town.get_json()["error"]["code"] == "photo_blur_pending"
    # The public page does not link an image that would answer 409: it says the voucher is in progress.
    page = client.get(f"/villages/V-T/disclosures/{did}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/villages/V-T/vouchers/{vid}.jpg" not in html
    assert f'data-voucher="{vid}">凭证照片打码处理中' in html

    run_blur_jobs()
    # Once blurred, the same page (its cache keyed by what is shown) links the blurred voucher.
    again = client.get(f"/villages/V-T/disclosures/{did}", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != page.headers["ETag"]
    html = again.get_data(as_text=True)
    assert f'src="/villages/V-T/vouchers/{vid}.jpg?size=thumb"' in html and "打码处理中" not in html
    public = client.get(f"/villages/V-T/vouchers/{vid}.jpg")
    assert public.status_code == 200 and public.data != original.data
    # Revalidated on every read (a review makes a new rendition here): 304 on its own ETag, no body.
    assert public.headers["Cache-Control"] == "public, no-cache"
    same = client.get(f"/villages/V-T/vouchers/{vid}.jpg", headers={"If-None-Match": public.headers["ETag"]})
    assert same.status_code == 304 and same.data == b""
    assert client.get(api_url, headers=vil["h_villager"]).data == public.data
    assert client.get(api_url, headers=vil["h_wang"]).data == public.data
    assert client.get(api_url, headers=vil["h_jin"]).data == original.data
    assert client.get(api_url, headers=vil["h_hua"]).data == original.data
    orig, blurred = image(original.data), image(public.data)
    # Both readable plates of the photo changed strongly; the rest of the photo hardly.
    for box in _plate_boxes(orig.size):
        assert mean_abs_diff(orig, blurred, box) > 12, box
    assert mean_abs_diff(orig, blurred, (0, 0, orig.width // 5, orig.height // 5)) < 3  # sky and trees
