"""Each caller's budget: requests and cost per minute, so that one token cannot keep the
service busy for everyone else (issue 14). A caller is a token or a signed-in person of one
organization. Counted per process with the `limits` library's sliding-window counters (a
well-kept implementation, in memory): with N worker processes a caller may get up to N
times the budget, since the processes share nothing.

A request is admitted when its one request fits in the last minute and its cost (api.cost,
at most the cost limit: a refused query spends at most that) in the last 10 seconds' sixth
of the cost per minute (so the minute's budget is not spent in one burst), and when what the caller
already has running in this process and its cost together stay within one request's worth
(the cost limit): a caller runs one report at a time, however many connections it opens, and
any number of small queries. A refused request spends nothing, and is answered 429 with
Retry-After. Every answer to an authenticated
caller says where they stand, in the IETF draft's headers (draft-ietf-httpapi-ratelimit-
headers): `RateLimit-Policy: "requests";q=600;w=60, "cost";q=41666;w=10` and
`RateLimit: "requests";r=<left>;t=<seconds>, "cost";r=<left>;t=<seconds>`."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from cmgraph.services.access import Principal

WINDOW_SECONDS = 60
COST_WINDOW_SECONDS = 10


def caller(principal: Principal) -> str:
    """Whose budget: the token, or the signed-in person, within their organization."""
    return f"{principal.organization_id}/{principal.actor}"


@dataclass(frozen=True)
class Standing:
    """Where a caller stands after asking to spend: whether the request was admitted, what
    is left of each budget, and in how many seconds the spent part starts coming back."""

    admitted: bool
    requests_left: int
    cost_left: int
    reset_seconds: int
    policy: str
    busy: bool = False  # refused because the caller's running requests hold a full cost

    @property
    def reason(self) -> str:
        if self.busy:
            return (
                "This caller's requests already running are worth a whole request's cost: "
                "send this one when they are answered."
            )
        return "Over this caller's budget of requests or cost per minute."

    def headers(self) -> dict[str, str]:
        t = self.reset_seconds
        headers = {
            "RateLimit-Policy": self.policy,
            "RateLimit": f'"requests";r={self.requests_left};t={t}, '
            f'"cost";r={self.cost_left};t={t}',
        }
        if not self.admitted:
            headers["Retry-After"] = str(1 if self.busy else max(1, t))
        return headers


class Budget:
    def __init__(
        self, requests_per_minute: int, cost_per_minute: int, max_running_cost: int
    ) -> None:
        self.max_running_cost = max_running_cost
        self.running: dict[str, int] = {}  # caller: cost of their requests under way
        self.requests = RateLimitItemPerMinute(requests_per_minute)
        # the minute's cost in sixths, each over a sliding 10 s: a caller cannot spend the
        # whole minute in one burst (at the defaults, one year's report every 10 s)
        self.cost = RateLimitItemPerSecond(max(1, cost_per_minute // 6), COST_WINDOW_SECONDS)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.policy = (
            f'"requests";q={requests_per_minute};w={WINDOW_SECONDS}, '
            f'"cost";q={self.cost.amount};w={COST_WINDOW_SECONDS}'
        )

    def spend(self, caller: str, cost: int) -> Standing:
        """Admit one request of `cost` for `caller` if both budgets allow it, and spend it;
        else spend nothing."""
        cost = max(0, min(cost, self.cost.amount))
        running = self.running.get(caller, 0)
        if running and running + cost > self.max_running_cost:
            return self._standing(caller, admitted=False, short=None, busy=True)
        short: RateLimitItem | None = None  # the budget that is short, if one is
        if not self.limiter.test(self.requests, caller):
            short = self.requests
        elif cost and not self.limiter.test(self.cost, caller, cost=cost):
            short = self.cost
        if short is None:
            self.limiter.hit(self.requests, caller)
            if cost:
                self.limiter.hit(self.cost, caller, cost=cost)
            self.running[caller] = running + cost
        return self._standing(caller, admitted=short is None, short=short)

    def done(self, caller: str, cost: int) -> None:
        """An admitted request of `cost` is answered: it no longer runs."""
        left = self.running.get(caller, 0) - max(0, min(cost, self.cost.amount))
        if left > 0:
            self.running[caller] = left
        else:
            self.running.pop(caller, None)

    def _standing(
        self, caller: str, admitted: bool, short: RateLimitItem | None, busy: bool = False
    ) -> Standing:
        requests = self.limiter.get_window_stats(self.requests, caller)
        spent = self.limiter.get_window_stats(self.cost, caller)
        # when the window frees up: the short budget's, or the sooner of the two
        stats = (requests if short is self.requests else spent) if short else None
        reset_at = stats.reset_time if stats else min(requests.reset_time, spent.reset_time)
        reset = min(WINDOW_SECONDS, max(0, math.ceil(reset_at - time.time())))
        return Standing(
            admitted,
            max(0, requests.remaining),
            max(0, spent.remaining),
            reset,
            self.policy,
            busy,
        )
