"""The hot-path X-Ray trace header parser agrees with the AWS X-Ray propagator (the oracle)
on every header: valid ones give the same parent, invalid ones give none."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.propagators.aws import AwsXRayPropagator

from tenantkit.observability.otel import xray_context

HEX = "0123456789abcdef"
hex_text = lambda n: st.text(HEX, min_size=n, max_size=n)  # noqa: E731
ROOT = st.one_of(
    st.builds(lambda a, b: f"1-{a}-{b}", hex_text(8), hex_text(24)),
    st.builds(lambda a, b: f"1-{a.upper()}-{b}", hex_text(8), hex_text(24)),
    st.builds(lambda a, b: f"2-{a}-{b}", hex_text(8), hex_text(24)),
    st.builds(lambda a, b: f"1-{a}-{b}", hex_text(7), hex_text(24)),
    st.just("1-00000000-000000000000000000000000"),
    st.text(max_size=40),
)
PARENT = st.one_of(hex_text(16), hex_text(15), st.just("0" * 16), st.just("-" + "0" * 14 + "1"), st.just(" 1" * 8),
                   hex_text(16).map(str.upper), st.text(max_size=18))
SAMPLED = st.sampled_from(["0", "1", "?", "d", "", "true"])


@st.composite
def headers(draw: st.DrawFn) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(f"Root={draw(ROOT)}")
    if draw(st.booleans()):
        parts.append(f"Parent={draw(PARENT)}")
    if draw(st.booleans()):
        parts.append(f"Sampled={draw(SAMPLED)}")
    if draw(st.booleans()):
        parts.append(f"Lineage={draw(st.text('abc0123456789:', max_size=12))}")
    if draw(st.booleans()):  # the canonical order Lambda writes (the parser's one-regex path)
        order = ("Root", "Parent", "Sampled", "Lineage")
        return ";".join(sorted(parts, key=lambda part: order.index(part.split("=")[0])))
    parts = draw(st.permutations(parts))
    separator = draw(st.sampled_from([";", "; "]))
    return separator.join(parts)


def parent_of(context: object) -> tuple:
    span_context = trace.get_current_span(context).get_span_context()  # type: ignore[arg-type]
    if not span_context.is_valid:
        return ("invalid",)
    return (span_context.trace_id, span_context.span_id, span_context.trace_flags.sampled, span_context.is_remote)


@settings(max_examples=400)
@given(headers())
def test_the_fast_parser_agrees_with_the_aws_xray_propagator(header):
    expected = parent_of(AwsXRayPropagator().extract({"X-Amzn-Trace-Id": header}))
    if expected != ("invalid",) and min(expected[:2]) < 0:  # int("-…", 16): the propagator keeps it
        expected = ("invalid",)
    assert parent_of(xray_context(header)) == expected, header


def test_a_lambda_header_is_parsed():
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    assert parent_of(xray_context(header)) == (
        0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, True, True)
