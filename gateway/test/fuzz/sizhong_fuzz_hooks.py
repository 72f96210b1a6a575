"""Schemathesis hooks for the gateway's fuzz run (gateway/test/fuzz/openapi-truth.e2e.spec.ts).

Three things only:

1. Authentication: every operation is called with the token of a participant its
   `x-sizhong-access` allows, taking turns among the allowed roles (among every role for
   operations any signed-in participant may call), so each role's view of the API is fuzzed. The
   tokens come from SIZHONG_FUZZ_TOKENS, a JSON object of role -> access token the test writes.

2. The rules JSON Schema cannot state, and the operations' descriptions do. POST /v1/campaigns:
   `endsAt` between a day and 60 days from now, `deliveryDate` and milestone `dueAt` after it and
   rising, milestone shares summing to 10 000, tier prices in the goal's currency. POST
   /v1/campaigns/{id}/pledges on an existing campaign: the amount in the campaign's currency and at
   least the named tier's price (read with GET /v1/campaigns/{id}). A generated valid body would
   break them almost always and be refused with 400, so before a positive case is sent those
   fields alone are set to satisfy them; everything else stays as generated, so any other 400
   still fails `positive_data_acceptance` (and schemathesis re-checks the edited case against the
   schema, so an edit cannot smuggle in invalid data).

3. Idempotency keys: the document says a key names one request (per caller and operation), and
   a key used again for another request is refused (422 IDEMPOTENCY_KEY_REUSED). Generated keys
   repeat (`0`, `A`, ...), which would stop every creating operation at that refusal, so each
   positive case's key gets a suffix that makes it unique, within the documented pattern and
   length. Replays are proven by idempotency.e2e.spec.ts instead.

Negative cases are sent as generated.
"""

import datetime
import itertools
import json
import os

import requests
import schemathesis

_TOKENS = json.loads(os.environ["SIZHONG_FUZZ_TOKENS"])
_GATEWAY_URL = os.environ["SIZHONG_FUZZ_GATEWAY_URL"]
_ROTATIONS = {}


def _token_for(operation):
    access = operation.definition.raw.get("x-sizhong-access", "public")
    if access == "public":
        return None
    roles = sorted(_TOKENS) if access == "authenticated" else [role for role in access if role in _TOKENS]
    if not roles:
        raise RuntimeError(f"no token for any of the roles {access} of {operation.label}")
    rotation = _ROTATIONS.setdefault(tuple(roles), itertools.cycle(roles))
    return _TOKENS[next(rotation)]


@schemathesis.auth(refresh_interval=None)
class RoleTokens:
    def get(self, case, context):
        return _token_for(context.operation)

    def set(self, case, data, context):
        if data is None:
            return
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _instant(moment):
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_positive(case):
    return case.meta is not None and case.meta.generation.mode.is_positive


_IDEMPOTENCY_KEY_LENGTH_MAX = 128
_requests_sent = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _is_positive(case):
        return
    _make_idempotency_key_unique(case)
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "createCampaign":
        _satisfy_campaign_relations(case)
    elif operation_id == "placePledge":
        _satisfy_pledge_relations(case)
    elif operation_id == "postTask":
        _satisfy_task_relations(case)
    elif operation_id == "placeBid":
        _satisfy_bid_relations(case)
    elif operation_id == "nameContestWinners":
        _satisfy_winner_relations(case)
    elif operation_id == "createRound":
        _satisfy_round_relations(case)
    elif operation_id in ("commitAsLead", "placeCommitment"):
        _satisfy_commitment_relations(case)
    elif operation_id == "putInvestorProfile":
        _satisfy_profile_relations(case)


def _make_idempotency_key_unique(case):
    for name, key in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and isinstance(key, str) and key:
            suffix = f".fz{next(_requests_sent)}"
            case.headers[name] = key[: _IDEMPOTENCY_KEY_LENGTH_MAX - len(suffix)] + suffix


def _satisfy_campaign_relations(case):
    body = case.body
    if not isinstance(body, dict):
        return
    ends_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    body["endsAt"] = _instant(ends_at)
    body["deliveryDate"] = _instant(ends_at + datetime.timedelta(days=30))
    goal = body.get("goal")
    currency = goal.get("currency") if isinstance(goal, dict) else None
    for tier in body.get("tiers") or []:
        if isinstance(tier, dict) and isinstance(tier.get("price"), dict) and currency is not None:
            tier["price"]["currency"] = currency
    milestones = body.get("milestones") or []
    count = len(milestones)
    for index, milestone in enumerate(milestones):
        if not isinstance(milestone, dict):
            continue
        milestone["dueAt"] = _instant(ends_at + datetime.timedelta(days=index + 1))
        # 10 000 split into `count` shares of at least 1, the remainder on the last.
        milestone["shareBps"] = 10_000 // count + (10_000 % count if index == count - 1 else 0)


def _satisfy_pledge_relations(case):
    body = case.body
    campaign_id = (case.path_parameters or {}).get("id")
    if not isinstance(body, dict) or not isinstance(body.get("amount"), dict) or not isinstance(campaign_id, str):
        return
    found = requests.get(
        f"{_GATEWAY_URL}/v1/campaigns/{requests.utils.quote(campaign_id, safe='')}",
        headers={"Authorization": f"Bearer {_TOKENS['backer']}"},
        timeout=10,
    )
    if found.status_code != 200:
        return
    campaign = found.json()
    amount = body["amount"]
    amount["currency"] = campaign["goal"]["currency"]
    tier = next((tier for tier in campaign["tiers"] if tier["id"] == body.get("tierId")), None)
    if tier is not None and isinstance(amount.get("amountMinor"), str) and amount["amountMinor"].isdigit():
        if int(amount["amountMinor"]) < int(tier["price"]["amountMinor"]):
            amount["amountMinor"] = tier["price"]["amountMinor"]


def _satisfy_task_relations(case):
    """POST /v1/tasks: a deadline two days away; bidding milestones in the budget's currency summing
    to it (at least one), none for contests and dispatch; dispatch slots dividing the budget."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("budget"), dict):
        return
    body["deadline"] = _instant(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2))
    budget = body["budget"]
    amount = budget.get("amountMinor")
    if not isinstance(amount, str) or not amount.isdigit() or int(amount) < 1:
        return
    total = int(amount)
    mode = body.get("mode")
    if mode == "bidding":
        milestones = [m for m in (body.get("milestones") or []) if isinstance(m, dict)][: min(10, total)] or [{"title": "Milestone"}]
        count = len(milestones)
        for index, milestone in enumerate(milestones):
            milestone["amount"] = {"currency": budget["currency"], "amountMinor": str(total // count + (total % count if index == count - 1 else 0))}
            if not isinstance(milestone.get("title"), str) or not milestone["title"].strip():
                milestone["title"] = "Milestone"
        body["milestones"] = milestones
        body.pop("slots", None)
    else:
        body.pop("milestones", None)
        if mode == "dispatch":
            slots = body.get("slots") if isinstance(body.get("slots"), int) else 1
            body["slots"] = max(1, min(slots, total))
            budget["amountMinor"] = str(total - total % body["slots"])
        else:
            body.pop("slots", None)


def _satisfy_bid_relations(case):
    """POST /v1/tasks/{id}/bids on an existing task: the price in the task's currency, at most its budget."""
    body = case.body
    task_id = (case.path_parameters or {}).get("id")
    if not isinstance(body, dict) or not isinstance(body.get("price"), dict) or not isinstance(task_id, str):
        return
    found = requests.get(
        f"{_GATEWAY_URL}/v1/tasks/{requests.utils.quote(task_id, safe='')}",
        headers={"Authorization": f"Bearer {_TOKENS['solver']}"},
        timeout=10,
    )
    if found.status_code != 200:
        return
    budget = found.json()["budget"]
    price = body["price"]
    price["currency"] = budget["currency"]
    if isinstance(price.get("amountMinor"), str) and price["amountMinor"].isdigit() and int(price["amountMinor"]) > int(budget["amountMinor"]):
        price["amountMinor"] = budget["amountMinor"]


def _satisfy_winner_relations(case):
    """POST /v1/tasks/{id}/winners: each submission named once, shares summing to 10 000."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("winners"), list):
        return
    seen = set()
    winners = []
    for winner in body["winners"]:
        if isinstance(winner, dict) and winner.get("submissionId") not in seen:
            seen.add(winner.get("submissionId"))
            winners.append(winner)
    count = len(winners)
    for index, winner in enumerate(winners):
        winner["shareBps"] = 10_000 // count + (10_000 % count if index == count - 1 else 0)
    body["winners"] = winners


def _satisfy_round_relations(case):
    """POST /v1/rounds: `endsAt` two days away, one currency, whole shares (price 1), maximum at least the target."""
    body = case.body
    if not isinstance(body, dict) or not all(isinstance(body.get(name), dict) for name in ("target", "maximum", "pricePerShare")):
        return
    body["endsAt"] = _instant(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2))
    currency = body["target"].get("currency")
    body["maximum"]["currency"] = currency
    body["pricePerShare"]["currency"] = currency
    body["pricePerShare"]["amountMinor"] = "1"
    target, maximum = body["target"].get("amountMinor"), body["maximum"].get("amountMinor")
    if isinstance(target, str) and isinstance(maximum, str) and target.isdigit() and maximum.isdigit() and int(maximum) < int(target):
        body["maximum"]["amountMinor"] = target


def _satisfy_commitment_relations(case):
    """POST /v1/rounds/{id}/lead and /commitments on an existing round: the round's currency, whole shares."""
    body = case.body
    round_id = (case.path_parameters or {}).get("id")
    if not isinstance(body, dict) or not isinstance(body.get("amount"), dict) or not isinstance(round_id, str):
        return
    found = requests.get(
        f"{_GATEWAY_URL}/v1/rounds/{requests.utils.quote(round_id, safe='')}",
        headers={"Authorization": f"Bearer {_TOKENS['investor']}"},
        timeout=10,
    )
    if found.status_code != 200:
        return
    price = found.json()["pricePerShare"]
    amount = body["amount"]
    amount["currency"] = price["currency"]
    if isinstance(amount.get("amountMinor"), str) and amount["amountMinor"].isdigit():
        step = int(price["amountMinor"])
        amount["amountMinor"] = str(max(step, int(amount["amountMinor"]) // step * step))


def _satisfy_profile_relations(case):
    """PUT /v1/investors/me/profile: income and net worth in one currency."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("annualIncome"), dict) and isinstance(body.get("netWorth"), dict):
        body["netWorth"]["currency"] = body["annualIncome"].get("currency")
