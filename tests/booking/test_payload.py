"""The button payload codec: round-trips, always fits Telegram's 64 bytes, rejects the rest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.payload import (
    BASE36,
    BOOKING_SCOPE,
    MAX_ARG,
    Action,
    Payload,
    booking_data,
    decode,
    encode,
    nonce_of,
)

nonces = st.text(alphabet=BASE36, min_size=4, max_size=4)
scopes = st.one_of(nonces, st.just(BOOKING_SCOPE))
args = st.one_of(st.none(), st.integers(min_value=0, max_value=MAX_ARG))
payloads = st.builds(Payload, scope=scopes, action=st.sampled_from(list(Action)), arg=args)


@given(payloads)
def test_round_trip_and_size(payload: Payload) -> None:
    data = encode(payload)
    assert len(data.encode("utf-8")) <= 64
    assert decode(data) == payload
    assert decode(data.encode("ascii")) == payload


@given(st.binary(max_size=80))
def test_random_bytes_never_decode(data: bytes) -> None:
    assert decode(data) is None


@given(st.text(max_size=80))
def test_random_text_never_decodes(data: str) -> None:
    assert decode(data) is None


@given(payloads, st.integers(min_value=0, max_value=200), st.characters(codec="ascii"))
def test_a_tampered_payload_is_rejected(payload: Payload, position: int, char: str) -> None:
    data = encode(payload)
    index = position % len(data)
    if data[index] == char:
        return
    tampered = data[:index] + char + data[index + 1 :]
    decoded = decode(tampered)
    # Either rejected, or (rarely, a 1/1296 checksum collision) still a well-formed payload
    # that the engine then checks against the screen nonce or the booking's owner.
    assert decoded is None or encode(decoded) == tampered


def test_known_shapes() -> None:
    assert decode("abcd.p.3." + encode(Payload("abcd", Action.PICK, 3))[-2:]) == Payload(
        "abcd", Action.PICK, 3
    )
    assert decode(booking_data(Action.OPEN_BOOKING, 42)) == Payload("@", Action.OPEN_BOOKING, 42)
    assert decode("") is None
    assert decode(None) is None
    assert decode("abcd.p.03.zz") is None
    assert len(nonce_of(b"\x00" * 8)) == 4 and set(nonce_of(bytes(range(8)))) <= set(BASE36)
