//go:build tools

// Package tools pins Jaeger for `go build github.com/jaegertracing/jaeger/cmd/jaeger`:
// the all-in-one binary (an OpenTelemetry Collector distribution) that takes OTLP on
// 4317/4318 and serves the query API and UI on 16686.
package tools

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
