{{- define "rag-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rag-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name another chart of the stack gets in this release (same rule as its fullname helper). */}}
{{- define "rag-gateway.siblingName" -}}
{{- if contains .chart .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name .chart | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rag-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rag-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rag-gateway.labels" -}}
{{ include "rag-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: llmops
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "rag-gateway.inferenceUrl" -}}
{{- default (printf "http://%s:8000/v1" (include "rag-gateway.siblingName" (dict "root" . "chart" "llm-inference"))) .Values.inference.url -}}
{{- end -}}

{{- define "rag-gateway.embeddingUrl" -}}
{{- default (printf "http://%s:8000/v1" (include "rag-gateway.siblingName" (dict "root" . "chart" "embedder"))) .Values.embedding.url -}}
{{- end -}}

{{- define "rag-gateway.milvusUri" -}}
{{- printf "http://%s:%d" (default (include "rag-gateway.siblingName" (dict "root" . "chart" "milvus")) .Values.milvus.host) (int .Values.milvus.port) -}}
{{- end -}}

{{/* Where the pod sees the routing-table ConfigMap and the API-keys Secret. A directory
mount, not subPath: the kubelet refreshes only directory mounts when the ConfigMap changes. */}}
{{- define "rag-gateway.routingDir" -}}/etc/llmops/routing{{- end -}}
{{- define "rag-gateway.keysDir" -}}/etc/llmops/keys{{- end -}}

{{- define "rag-gateway.fromConfigMap" -}}
{{- if eq .Values.routingTable.source "configMap" }}true{{ end -}}
{{- end -}}

{{/* The built-in table of the gateway (llmops_gateway.domain.routing.build_default_table),
written as a routing-table file: the seed of the operator's ConfigMap. */}}
{{- define "rag-gateway.seedTable" -}}
version: seed
routes:
  {{ .Values.inference.defaultModel | quote }}:
    kind: generate
    backends:
      - name: {{ printf "%s-seed" .Values.inference.defaultModel | quote }}
        url: {{ include "rag-gateway.inferenceUrl" . | quote }}
        model: {{ .Values.inference.defaultModel | quote }}
        chat: completion
  {{ .Values.embedding.model | quote }}:
    kind: embeddings
    backends:
      - name: {{ printf "%s-seed" .Values.embedding.model | quote }}
        url: {{ include "rag-gateway.embeddingUrl" . | quote }}
        model: {{ .Values.embedding.model | quote }}
  rag:
    kind: generate
    backends:
      - name: {{ printf "%s-rag-seed" .Values.inference.defaultModel | quote }}
        url: {{ include "rag-gateway.inferenceUrl" . | quote }}
        model: {{ .Values.inference.defaultModel | quote }}
        chat: completion
        rag:
          collection: docs
          embedder: {{ .Values.embedding.model | quote }}
{{- end -}}

{{/* Values of earlier versions that no gateway setting reads: the schema admits them only so
that this check can say where each one went. */}}
{{- define "rag-gateway.removedValues" -}}
{{- $removed := list
  (list "embedding" "dimension" "a collection takes the size of the first vectors stored in it")
  (list "milvus" "collection" "the collection is chosen per revision, rag.collection of a backend in the routing table, and per ingest request")
  (list "rag" "topK" "retrieval is set per revision, rag.top_k of a backend in the routing table")
  (list "rag" "chunkSize" "chunking is set per ingest request, chunk_size of POST /v1/ingest")
  (list "rag" "chunkOverlap" "chunking is set per ingest request, chunk_overlap of POST /v1/ingest")
  (list "" "routes" "aliases and their backends live in the routing table, see routingTable")
-}}
{{- $found := list -}}
{{- range $removed -}}
{{- $parent := $.Values -}}
{{- if index . 0 -}}
{{- $parent = index $.Values (index . 0) | default dict -}}
{{- end -}}
{{- if hasKey $parent (index . 1) -}}
{{- $key := trimPrefix "." (printf "%s.%s" (index . 0) (index . 1)) -}}
{{- $found = append $found (printf "%s: removed (no gateway setting reads it): %s" $key (index . 2)) -}}
{{- end -}}
{{- end -}}
{{- if $found -}}
{{- fail (join "; " $found) -}}
{{- end -}}
{{- end -}}

{{- define "rag-gateway.validate" -}}
{{- include "rag-gateway.removedValues" . -}}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) -}}
{{- fail (printf "autoscaling.minReplicas: %d is above autoscaling.maxReplicas %d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) -}}
{{- fail "httpRoute.parentRefs: name at least one Gateway when httpRoute.enabled is true" -}}
{{- end -}}
{{- end -}}

{{/* OTLP/HTTP traces endpoint when `global.tracing.enabled` (empty otherwise): the global
`otlpEndpoint`, else the umbrella's collector of this release. */}}
{{- define "rag-gateway.otlpEndpoint" -}}
{{- $tracing := (.Values.global).tracing | default dict -}}
{{- if $tracing.enabled -}}
{{- $tracing.otlpEndpoint | default (printf "http://%s-otel-collector:4318/v1/traces" (.Release.Name | trunc 50 | trimSuffix "-")) -}}
{{- end -}}
{{- end -}}
