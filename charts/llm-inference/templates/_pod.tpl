{{/* The engine's CLI flags, rendered from the typed engine block. */}}
{{- define "llm-inference.args" -}}
- --model={{ include "llm-inference.modelArg" . }}
- --served-model-name={{ .Values.model.name }}
- --host=0.0.0.0
- --port={{ .Values.engine.port }}
- --tensor-parallel-size={{ .Values.engine.tensorParallelSize }}
- --dtype={{ .Values.engine.dtype }}
- --gpu-memory-utilization={{ .Values.engine.gpuMemoryUtilization }}
{{- with .Values.engine.maxModelLen }}
- --max-model-len={{ . }}
{{- end }}
{{- with .Values.engine.quantization }}
- --quantization={{ . }}
{{- end }}
{{- if and (eq (include "llm-inference.scheme" .) "s3") (ne .Values.mode "kserve") }}
- --load-format=runai_streamer
{{- end }}
{{- with include "llm-inference.otlpEndpoint" . }}
- --otlp-traces-endpoint={{ . }}
{{- end }}
{{- range .Values.engine.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* HOME and every cache point at writable volumes: the root filesystem stays read-only. */}}
{{- define "llm-inference.env" -}}
- name: HOME
  value: /home/vllm
- name: XDG_CACHE_HOME
  value: /home/vllm/.cache
- name: HF_HOME
  value: /models/hf
- name: VLLM_NO_USAGE_STATS
  value: "1"
- name: DO_NOT_TRACK
  value: "1"
{{- if eq .Values.mode "kserve" }}
# KServe's storage initializer downloads this (hf://, s3://, pvc://) into /mnt/models.
- name: STORAGE_URI
  value: {{ .Values.model.uri | quote }}
{{- end }}
{{- if include "llm-inference.otlpEndpoint" . }}
# vLLM exports OTLP/gRPC unless told otherwise; the one endpoint of global.tracing is HTTP.
- name: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
  value: http/protobuf
- name: OTEL_SERVICE_NAME
  value: {{ .Values.model.name | quote }}
{{- end }}
{{- range .Values.engine.extraEnv }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- end }}
{{- end -}}

{{- define "llm-inference.probes" -}}
startupProbe:
  httpGet:
    path: /health
    port: http
  periodSeconds: {{ .Values.probes.periodSeconds }}
  failureThreshold: {{ div (add .Values.probes.startupBudgetSeconds .Values.probes.periodSeconds -1) .Values.probes.periodSeconds }}
readinessProbe:
  httpGet:
    path: /health
    port: http
  periodSeconds: {{ .Values.probes.periodSeconds }}
  failureThreshold: 3
livenessProbe:
  httpGet:
    path: /health
    port: http
  periodSeconds: {{ .Values.probes.periodSeconds }}
  failureThreshold: {{ .Values.probes.livenessFailureThreshold }}
  timeoutSeconds: 5
{{- end -}}

{{- define "llm-inference.engineContainer" -}}
- name: {{ ternary "kserve-container" "vllm" (eq .Values.mode "kserve") }}
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["python3", "-m", "vllm.entrypoints.openai.api_server"]
  args:
    {{- include "llm-inference.args" . | nindent 4 }}
  env:
    {{- include "llm-inference.env" . | nindent 4 }}
  {{- with .Values.model.credentialsSecret }}
  envFrom:
    - secretRef:
        name: {{ . }}
  {{- end }}
  ports:
    - name: http
      containerPort: {{ .Values.engine.port }}
      protocol: TCP
  {{- include "llm-inference.probes" . | nindent 2 }}
  resources:
    {{- $gpus := int (include "llm-inference.gpuCount" .) }}
    {{- $res := deepCopy .Values.resources }}
    {{- if gt $gpus 0 }}
    {{- $_ := set $res "requests" (merge (dict .Values.gpu.resourceName $gpus) (default dict $res.requests)) }}
    {{- $_ := set $res "limits" (merge (dict .Values.gpu.resourceName $gpus) (default dict $res.limits)) }}
    {{- end }}
    {{- with $res }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  securityContext:
    {{- include "llm-inference.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: model-cache
      mountPath: /models
    - name: home
      mountPath: /home/vllm
    - name: tmp
      mountPath: /tmp
    - name: dshm
      mountPath: /dev/shm
    {{- if and (eq (include "llm-inference.scheme" .) "pvc") (ne .Values.mode "kserve") }}
    - name: model-source
      mountPath: /mnt/model-source
      readOnly: true
    {{- end }}
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{- define "llm-inference.prefetchContainer" -}}
- name: prefetch-model
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["python3", "-c"]
  args:
    - "import sys, huggingface_hub; huggingface_hub.snapshot_download(sys.argv[1])"
    - {{ include "llm-inference.modelArg" . | quote }}
  env:
    {{- include "llm-inference.env" . | nindent 4 }}
  {{- with .Values.model.credentialsSecret }}
  envFrom:
    - secretRef:
        name: {{ . }}
  {{- end }}
  securityContext:
    {{- include "llm-inference.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: model-cache
      mountPath: /models
    - name: home
      mountPath: /home/vllm
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{- define "llm-inference.volumes" -}}
- name: model-cache
  {{- if and .Values.modelCache.enabled (eq .Values.mode "deployment") }}
  persistentVolumeClaim:
    claimName: {{ include "llm-inference.cacheClaim" . }}
  {{- else }}
  emptyDir: {}
  {{- end }}
- name: home
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: dshm
  emptyDir:
    medium: Memory
    sizeLimit: {{ default (printf "%dGi" (mul 2 .Values.engine.tensorParallelSize)) .Values.sharedMemory.sizeLimit }}
{{- if and (eq (include "llm-inference.scheme" .) "pvc") (ne .Values.mode "kserve") }}
- name: model-source
  persistentVolumeClaim:
    claimName: {{ regexFind "^[^/]+" (trimPrefix "pvc://" .Values.model.uri) }}
    readOnly: true
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level fields shared by the Deployment and the InferenceService predictor. */}}
{{- define "llm-inference.podFields" -}}
securityContext:
  {{- include "llm-inference.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .Values.runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
