"""Group robots' sending budget: WeCom and DingTalk robots take about 20 messages a minute each
(DingTalk blocks a robot for 10 minutes beyond that). No Flask import.

Each robot channel keeps the times of its posts in the last minute. A burst larger than what is
left of the budget is folded into digest messages (several notifications in one text, each with
its `[gridgov #id]`, so receivers still drop repeats); what does not fit waits for the next minute
instead of being lost, or sent until the robot is blocked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

WINDOW_SECONDS = 60
TEXT_BYTES = 2000  # WeCom refuses text content over 2048 bytes
ROBOT_KINDS = ("wecom", "dingtalk")
T = TypeVar("T")


def recent_posts(posted_at: Sequence[float] | None, now: float) -> list[float]:
    """The post times still inside the sliding minute."""
    return sorted(t for t in posted_at or () if now - WINDOW_SECONDS < t <= now)


def free_again_at(recent: list[float]) -> float:
    """When the oldest post of the window leaves it, and one more may go."""
    return recent[0] + WINDOW_SECONDS


def digest_header(count: int) -> str:
    return f"【gridgov】消息较多，{count} 条通知合并发送 / {count} notifications in one message"


def pack(items: Sequence[T], budget: int, text: Callable[[T], str]) -> tuple[list[list[T]], list[T]]:
    """(posts, left over): every item alone if they fit the budget, else folded into at most
    `budget` digests of at most TEXT_BYTES each, in order; the rest is left for the next minute."""
    if budget <= 0:
        return [], list(items)
    if len(items) <= budget:
        return [[item] for item in items], []
    posts: list[list[T]] = []
    size = 0
    for index, item in enumerate(items):
        length = len(text(item).encode()) + 2
        if posts and size + length <= TEXT_BYTES:
            posts[-1].append(item)
            size += length
            continue
        if len(posts) == budget:
            return posts, list(items[index:])
        posts.append([item])
        size = len(digest_header(99999).encode()) + length
    return posts, []


def digest_text(texts: Sequence[str]) -> str:
    """One robot message: the notification itself, or a header and each notification in turn."""
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join([digest_header(len(texts)), *texts])
