/**
 * A resident's flow in the mini-program, written against the types generated from civic's OpenAPI
 * document alone (generated/schema.d.ts, by openapi-typescript): log in with WeChat, ask which
 * category fits, file a complaint with a photo, list my cases, rate a resolved one.
 *
 * It is type-checked (tsc --noEmit) by tests/foundation/test_ts_client.py: a field renamed,
 * retyped or dropped in the document breaks this file the way it would break the mini-program.
 */
import createClient from "openapi-fetch";

import type { components, paths } from "../generated/schema";

type Complaint = components["schemas"]["Complaint"];
type ComplaintSummary = components["schemas"]["ComplaintSummary"];
type SuggestResult = components["schemas"]["SuggestResult"];

export interface ResidentSession {
  token: string;
  userId: number | undefined;
}

export function apiClient(baseUrl: string, token?: string) {
  return createClient<paths>({
    baseUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

/** wx.login() gives a code; civic answers with a bearer token (and makes the account the first time). */
export async function login(baseUrl: string, wxCode: string): Promise<ResidentSession> {
  const { data, error } = await apiClient(baseUrl).POST("/api/v1/auth/wechat", { body: { code: wxCode } });
  if (error !== undefined || data?.token === undefined) {
    throw new Error(`login failed: ${error?.error.code ?? "no token"}`);
  }
  return { token: data.token, userId: data.user?.id };
}

/**
 * The categories that fit a draft, best first, with calibrated scores and a verdict; the draft travels
 * in the body, never in the URL.  When the verdict is not "likely" the mini-program shows `prompt` and
 * lets the resident choose (for "mixed": the first two suggestions are two problems).
 */
export async function suggest(baseUrl: string, session: ResidentSession, draft: string): Promise<SuggestResult> {
  const { data, error } = await apiClient(baseUrl, session.token).POST("/api/v1/complaints/suggest", {
    body: { text: draft },
  });
  if (error !== undefined) {
    // 422 text_too_long carries the limit: details.max characters.
    throw new Error(`${error.error.code}: ${error.error.message}`);
  }
  return data;
}

/** File a case for one of my units, with one photo (multipart), retry-safe by its Idempotency-Key. */
export async function fileComplaint(
  baseUrl: string,
  session: ResidentSession,
  unitId: number,
  description: string,
  photo: Blob,
  idempotencyKey: string,
): Promise<Complaint> {
  const result = await suggest(baseUrl, session, description);
  // Only a likely category is taken without asking; otherwise the resident would choose (not shown here).
  const best = result.verdict === "likely" ? result.suggestions?.[0] : undefined;
  const form: components["schemas"]["IntakeForm"] = {
    category: best?.category ?? "other",
    description,
    place_id: unitId,
    gps_consent: false,
    urgent: false,
  };
  const { data, error } = await apiClient(baseUrl, session.token).POST("/api/v1/complaints", {
    body: form,
    headers: { "Idempotency-Key": idempotencyKey },
    bodySerializer(body) {
      const fd = new FormData();
      for (const [name, value] of Object.entries(body)) {
        if (value !== undefined && name !== "photos") {
          fd.append(name, String(value));
        }
      }
      fd.append("photos", photo, "photo.jpg");
      return fd;
    },
  });
  if (error !== undefined) {
    throw new Error(`${error.error.code}: ${error.error.message}`);
  }
  const lead: string | undefined = data.lead?.name;
  console.log(`case ${data.id} routed to ${lead ?? "the residents' committee"}; reply due ${data.acknowledge_due ?? "-"}`);
  return data;
}

/** A case filed with photos sent before by resumable upload (tus, docs/uploads.md): each upload
 * must be complete; the form names them by id and consumes each once. */
export async function fileComplaintFromUploads(
  baseUrl: string,
  session: ResidentSession,
  unitId: number,
  description: string,
  uploadIds: string[],
  idempotencyKey: string,
): Promise<Complaint> {
  const client = apiClient(baseUrl, session.token);
  for (const id of uploadIds) {
    const { data: upload } = await client.GET("/api/v1/uploads/{upload_id}", { params: { path: { upload_id: id } } });
    const status: components["schemas"]["Upload"] | undefined = upload;
    if (status?.status !== "complete") {
      throw new Error(`upload ${id}: ${status?.offset ?? 0} of ${status?.length ?? "?"} bytes, resume first`);
    }
  }
  const form: components["schemas"]["IntakeForm"] = {
    category: "other",
    description,
    place_id: unitId,
    gps_consent: false,
    urgent: false,
    upload_ids: uploadIds,
  };
  const { data, error } = await client.POST("/api/v1/complaints", {
    body: form,
    headers: { "Idempotency-Key": idempotencyKey },
    bodySerializer(body) {
      const fd = new FormData();
      for (const [name, value] of Object.entries(body)) {
        if (name === "upload_ids") {
          for (const id of uploadIds) fd.append("upload_ids", id);
        } else if (value !== undefined) {
          fd.append(name, String(value));
        }
      }
      return fd;
    },
  });
  if (error !== undefined) {
    throw new Error(`${error.error.code}: ${error.error.message}`);
  }
  return data;
}

/** Every case I filed, newest first, page by page. */
export async function myCases(baseUrl: string, session: ResidentSession): Promise<ComplaintSummary[]> {
  const client = apiClient(baseUrl, session.token);
  const out: ComplaintSummary[] = [];
  let cursor: string | null | undefined = undefined;
  do {
    const query: { limit: number; cursor?: string } = cursor ? { limit: 20, cursor } : { limit: 20 };
    const page: components["schemas"]["ComplaintPage"] | undefined = (
      await client.GET("/api/v1/my/complaints", { params: { query } })
    ).data;
    if (page === undefined) {
      throw new Error("my cases could not be read");
    }
    out.push(...(page.items ?? []));
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

/** Rate a resolved case (1-5 stars; 1-2 reopen it once). */
export async function rate(
  baseUrl: string,
  session: ResidentSession,
  complaintId: number,
  stars: 1 | 2 | 3 | 4 | 5,
  comment?: string,
): Promise<Complaint> {
  const { data, error } = await apiClient(baseUrl, session.token).POST("/api/v1/complaints/{complaint_id}/rating", {
    params: { path: { complaint_id: complaintId } },
    body: { rating: stars, ...(comment ? { comment } : {}) },
  });
  if (error !== undefined) {
    throw new Error(`${error.error.code}: ${error.error.message}`);
  }
  return data;
}

/** The whole flow, as the mini-program runs it. */
export async function residentFlow(baseUrl: string, wxCode: string, unitId: number, photo: Blob): Promise<void> {
  const session = await login(baseUrl, wxCode);
  const filed = await fileComplaint(baseUrl, session, unitId, "楼道里堆满杂物，影响通行。", photo, crypto.randomUUID());
  const mine = await myCases(baseUrl, session);
  const resolved = mine.find((c) => c.status === "resolved");
  if (resolved?.id !== undefined) {
    const rated = await rate(baseUrl, session, resolved.id, 5, "处理及时");
    console.log(`rated case ${rated.id}: ${rated.rating ?? "-"} stars`);
  }
  console.log(`filed case ${filed.id ?? "?"}; ${mine.length} cases in all`);
}
