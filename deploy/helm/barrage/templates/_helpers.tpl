{{/* Names and labels. */}}
{{- define "barrage.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "barrage.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one role: (dict "root" $ "role" "edge"). */}}
{{- define "barrage.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "barrage.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Checks that fail the render instead of a pod that crash-loops. */}}
{{- define "barrage.validate" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- fail "secrets.existingSecret is required: a Secret holding BARRAGE_SECRET (and the API key)" -}}
{{- end -}}
{{- if not .Values.nats.url -}}
{{- fail "nats.url is required: the client URLs of a NATS cluster with JetStream" -}}
{{- end -}}
{{- if not (has (int .Values.nats.jetstreamReplicas) (list 1 3 5)) -}}
{{- fail "nats.jetstreamReplicas must be 1, 3 or 5" -}}
{{- end -}}
{{- if lt (int .Values.edge.shutdownDeadlineSeconds) (add (int .Values.edge.drainDelaySeconds) 1 | int) -}}
{{- fail "edge.shutdownDeadlineSeconds must be at least edge.drainDelaySeconds + 1 (the drain needs time after the delay)" -}}
{{- end -}}
{{- end -}}

{{/* Environment both roles get: secrets, NATS, analytics, extra env. */}}
{{- define "barrage.env" -}}
- name: BARRAGE_EDGE_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: BARRAGE_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.secretKey }}
{{- if .Values.secrets.apiKeyKey }}
- name: BARRAGE_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.apiKeyKey }}
{{- end }}
{{- if .Values.secrets.receiptSecretKey }}
- name: BARRAGE_RECEIPT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.receiptSecretKey }}
{{- end }}
- name: BARRAGE_NATS_URL
  value: {{ .Values.nats.url | quote }}
- name: BARRAGE_JS_REPLICAS
  value: {{ .Values.nats.jetstreamReplicas | quote }}
- name: BARRAGE_ANALYTICS
  value: {{ ternary "on" "off" .Values.analytics.enabled | quote }}
- name: BARRAGE_ANALYTICS_DB
  value: {{ .Values.analytics.database | quote }}
{{- if .Values.secrets.clickhouseUrlKey }}
- name: BARRAGE_CLICKHOUSE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.clickhouseUrlKey }}
{{- else if .Values.analytics.clickhouseUrl }}
- name: BARRAGE_CLICKHOUSE_URL
  value: {{ .Values.analytics.clickhouseUrl | quote }}
{{- end }}
{{- if .Values.webhooks.url }}
- name: BARRAGE_WEBHOOK_URL
  value: {{ .Values.webhooks.url | quote }}
{{- end }}
{{- if .Values.secrets.webhookSecretKey }}
- name: BARRAGE_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.webhookSecretKey }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The writable places of a read-only root filesystem: the data dir (spill, chDB) and /tmp. */}}
{{- define "barrage.volumeMounts" -}}
- name: data
  mountPath: /var/lib/barrage
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "barrage.volumes" -}}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.analytics.spillSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}
