// Command otlp-receiver is a minimal OTLP/HTTP trace receiver for ioamsim's tests.
//
// It accepts POST /v1/traces with an OTLP JSON (application/json) or protobuf
// (application/x-protobuf) ExportTraceServiceRequest, decodes it with the official
// go.opentelemetry.io/collector/pdata ptraceotlp package (the code the OpenTelemetry
// Collector's otlpreceiver uses), checks what the OTLP specification requires of
// every span (16-byte trace ID, 8-byte span ID, end >= start, a name), and appends one
// JSON line per request to -out describing what it got. Invalid requests get HTTP 400
// with the reason, as an OTLP receiver does.
//
// Usage: otlp-receiver -listen 127.0.0.1:0 -out got.jsonl -ready ready.txt
// The bound address is written to -ready (and stdout) once listening.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// spanSummary is what the receiver reports about one span.
type spanSummary struct {
	TraceID    string         `json:"traceId"`
	SpanID     string         `json:"spanId"`
	ParentID   string         `json:"parentSpanId"`
	Name       string         `json:"name"`
	Kind       string         `json:"kind"`
	StartNs    uint64         `json:"startTimeUnixNano"`
	EndNs      uint64         `json:"endTimeUnixNano"`
	Service    string         `json:"service"`
	Attributes map[string]any `json:"attributes"`
	Events     int            `json:"events"`
}

// requestSummary is one line of -out.
type requestSummary struct {
	ContentType string        `json:"contentType"`
	Resources   int           `json:"resourceSpans"`
	Spans       []spanSummary `json:"spans"`
}

func validate(td ptrace.Traces) ([]spanSummary, error) {
	var out []spanSummary
	rss := td.ResourceSpans()
	if rss.Len() == 0 {
		return nil, errors.New("no resourceSpans")
	}
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		svc := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			svc = v.AsString()
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				if s.TraceID().IsEmpty() {
					return nil, fmt.Errorf("span %q: empty or invalid traceId", s.Name())
				}
				if s.SpanID().IsEmpty() {
					return nil, fmt.Errorf("span %q: empty or invalid spanId", s.Name())
				}
				if s.Name() == "" {
					return nil, errors.New("span without a name")
				}
				if s.EndTimestamp() < s.StartTimestamp() {
					return nil, fmt.Errorf("span %q: end before start", s.Name())
				}
				parent := ""
				if !s.ParentSpanID().IsEmpty() {
					parent = s.ParentSpanID().String()
				}
				out = append(out, spanSummary{
					TraceID:    s.TraceID().String(),
					SpanID:     s.SpanID().String(),
					ParentID:   parent,
					Name:       s.Name(),
					Kind:       s.Kind().String(),
					StartNs:    uint64(s.StartTimestamp()),
					EndNs:      uint64(s.EndTimestamp()),
					Service:    svc,
					Attributes: s.Attributes().AsRaw(),
					Events:     s.Events().Len(),
				})
			}
		}
	}
	return out, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	outPath := flag.String("out", "-", "where to append one JSON line per request (- = stdout)")
	ready := flag.String("ready", "", "file to write the bound address to once listening")
	maxRequests := flag.Int("max-requests", 0, "exit after this many accepted requests (0 = never)")
	timeout := flag.Duration("timeout", 2*time.Minute, "exit after this long in any case")
	flag.Parse()

	var out io.Writer = os.Stdout
	if *outPath != "-" {
		f, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		out = f
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(addr+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("listening", addr)

	var mu sync.Mutex
	accepted := 0
	done := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ct := r.Header.Get("Content-Type")
		req := ptraceotlp.NewExportRequest()
		switch ct {
		case "application/json":
			err = req.UnmarshalJSON(body)
		case "application/x-protobuf":
			err = req.UnmarshalProto(body)
		default:
			http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
			return
		}
		if err != nil {
			http.Error(w, "cannot decode: "+err.Error(), http.StatusBadRequest)
			return
		}
		spans, err := validate(req.Traces())
		if err != nil {
			http.Error(w, "invalid: "+err.Error(), http.StatusBadRequest)
			return
		}
		line, _ := json.Marshal(requestSummary{ContentType: ct, Resources: req.Traces().ResourceSpans().Len(), Spans: spans})
		mu.Lock()
		out.Write(append(line, '\n'))
		accepted++
		n := accepted
		mu.Unlock()
		resp := ptraceotlp.NewExportResponse()
		rb, _ := resp.MarshalJSON()
		w.Header().Set("Content-Type", "application/json")
		w.Write(rb)
		if *maxRequests > 0 && n >= *maxRequests {
			close(done)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	select {
	case <-done:
		time.Sleep(50 * time.Millisecond)
	case <-time.After(*timeout):
		log.Print("timeout")
	}
	srv.Close()
}
