#pragma once
// fanout: many network operations at once, each bounded, timed out, retried
// and accounted for. This header includes every public part; read it top to
// bottom for the map (../shared/DESIGN.md has the long form).

// What an item ends as: an error code of fanout's own category, a failure
// (code, message, captured exception, retry-after hint), result<T>, and
// outcome<T> (index, result, attempts, elapsed).
#include <fanout/error.hpp>
#include <fanout/outcome.hpp>

// Durations as people write them ("250ms").
#include <fanout/duration.hpp>

// Waiting well: a FIFO async semaphore, a shared token bucket, a retry
// policy (exponential backoff, full jitter, retry-after hints), and a
// timeout that cancels the operation it cuts short.
#include <fanout/rate_limiter.hpp>
#include <fanout/retry.hpp>
#include <fanout/semaphore.hpp>
#include <fanout/timeout.hpp>

// Counting and showing: progress counters with a terminal line, an
// HDR-style latency histogram that merges and serialises, and both in
// Prometheus's text format for a service that is scraped.
#include <fanout/histogram.hpp>
#include <fanout/progress.hpp>
#include <fanout/prometheus.hpp>

// The heart: bounded fan-out over any input range, ordered or as completed
// (its options and summary in gather_options);
// lines() makes a lazy input of a file or stdin, and a shard takes a
// deterministic slice of it.
#include <fanout/gather.hpp>
#include <fanout/gather_options.hpp>
#include <fanout/line.hpp>
#include <fanout/lines.hpp>
#include <fanout/shard.hpp>

// Taming the tail: a circuit breaker per key (per backend), shared by
// gathers through a registry (items of an open key end as circuit_open
// without an attempt); hedged attempts after a delay or an observed
// percentile, within a budget; first_of and quorum(k); an adaptive
// concurrency limit (gradient or AIMD) that gathers toward one backend share.
#include <fanout/adaptive_limit.hpp>
#include <fanout/circuit_breaker.hpp>
#include <fanout/first_of.hpp>
#include <fanout/hedge.hpp>

// Off the loop: thread pools with bounded queues, and offload() to run a
// blocking or CPU-bound call there and come back.
#include <fanout/offload.hpp>
#include <fanout/thread_pool.hpp>

// What a program runs on: loop threads, the two pools, signal handling;
// one awaitable per loop, run together; and the input of an item-per-line
// command (a file or stdin read off the loop with a bounded read-ahead,
// blank lines and comments skipped, a shard of it), pulled by the loops.
#include <fanout/input.hpp>
#include <fanout/item_text.hpp>
#include <fanout/line_source.hpp>
#include <fanout/on_each_loop.hpp>
#include <fanout/runtime.hpp>

// DNS driven by the loop (batched UDP of its own, c-ares for resolv.conf):
// typed record queries and address lookups with timeouts, tries,
// cancellation, a TTL cache, a pool of servers, and reverse names.
#include <fanout/dns/error.hpp>
#include <fanout/dns/record.hpp>
#include <fanout/dns/resolver.hpp>
#include <fanout/dns/reverse.hpp>
#include <fanout/dns/server.hpp>
#include <fanout/dns/wildcard.hpp>

// HTTP/1.1: pooled keep-alive connections per origin, TLS with
// verification, timeouts per phase, redirects, and expect_success() to turn
// 4xx/5xx answers (with their Retry-After) into failures a retry policy reads.
// Under it, private (lib/src/http/), the one wire layer the client, the load
// drivers and the probes share: request heads, RFC 9112 response framing
// (response_parser), the TLS client context and SNI, resolve-then-connect.
#include <fanout/http/client.hpp>
#include <fanout/http/error.hpp>
#include <fanout/http/message.hpp>

// Load generation on the loops: what to send and how hard (closed loop, or a
// fixed rate with latency corrected for coordinated omission), what a run
// measured (mergeable, JSON) and interval by interval, the run itself,
// pass/fail thresholds, HdrHistogram's percentile-distribution text and a
// self-contained HTML report with charts.
#include <fanout/load/hgrm.hpp>
#include <fanout/load/html_report.hpp>
#include <fanout/load/options.hpp>
#include <fanout/load/result.hpp>
#include <fanout/load/run.hpp>
#include <fanout/load/threshold.hpp>
#include <fanout/load/time_series.hpp>

// Health checks: targets parsed from lines (http://, https://, tcp://,
// dns://), the probe's own error kinds, and a prober per loop that checks a
// target against expectations (status, body, latency, certificate days).
#include <fanout/probe/check.hpp>
#include <fanout/probe/error.hpp>
#include <fanout/probe/target.hpp>

// Reporting results: text made safe for an output (valid UTF-8, no terminal
// controls), JSON pieces written field by field, a periodic flush of
// a buffered stream, one record per input line, writers (table, JSON lines,
// CSV, Prometheus text), a mergeable summary, and an HTML page of a sweep
// kept in bounded memory.
#include <fanout/report/escape.hpp>
#include <fanout/report/html_page.hpp>
#include <fanout/report/json.hpp>
#include <fanout/report/periodic_flush.hpp>
#include <fanout/report/record.hpp>
#include <fanout/report/record_output.hpp>
#include <fanout/report/summary.hpp>
#include <fanout/report/writer.hpp>
