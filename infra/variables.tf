# Inputs. Only project_id is required; everything else has a safe default. The settings block at
# the end maps one to one onto the functions' environment variables (README.md, "Configuration").

variable "project_id" {
  description = "Project that hosts the pipeline."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the functions, their triggers and the buckets (one region, so the storage trigger's region matches the bucket's location)."
  type        = string
  default     = "us-central1"
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a single Google Cloud region such as us-central1 (not a multi-region)."
  }
}

variable "labels" {
  description = "Labels put on every resource that takes them."
  type        = map(string)
  default     = { app = "labelexport" }
}

# ---------------------------------------------------------------------------------------------
# Names

variable "name_prefix" {
  description = "Prefix of the service accounts and of the default bucket names."
  type        = string
  default     = "labelexport"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,14}$", var.name_prefix))
    error_message = "name_prefix must be 3-15 lowercase letters, digits or hyphens, starting with a letter (service account IDs are limited to 30 characters)."
  }
}

variable "bucket_names" {
  description = "Bucket names; null picks PROJECT-PREFIX-exports / -splits / -source. The export and split buckets must differ (a trigger loop otherwise)."
  type = object({
    exports = optional(string)
    splits  = optional(string)
    source  = optional(string)
  })
  default = {}
  validation {
    condition = alltrue([
      for name in [var.bucket_names.exports, var.bucket_names.splits, var.bucket_names.source] :
      name == null ? true : can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", name))
    ])
    error_message = "Bucket names must be 3-63 lowercase letters, digits, '-', '_' or '.'."
  }
  validation {
    condition = (
      var.bucket_names.exports == null || var.bucket_names.splits == null
      ? true : var.bucket_names.exports != var.bucket_names.splits
    )
    error_message = "The export bucket and the split bucket must differ: split_export is triggered by the export bucket and must never write there."
  }
}

variable "topic_names" {
  description = "Pub/Sub topic names."
  type = object({
    labeling_complete = optional(string, "labeling-complete")
    results           = optional(string, "labeling-export-results")
    dead_letter       = optional(string, "labeling-complete-dead-letter")
  })
  default = {}
  validation {
    condition = alltrue([
      for name in values(var.topic_names) : can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", name))
    ])
    error_message = "Topic names must be 3-255 characters, start with a letter, and use letters, digits or -._~%+."
  }
  validation {
    condition     = length(distinct(values(var.topic_names))) == 3
    error_message = "The labeling-complete, results and dead-letter topics must be three different topics."
  }
}

variable "function_names" {
  description = "Cloud Functions (2nd gen) names."
  type = object({
    export = optional(string, "export-labeled-data")
    split  = optional(string, "split-export")
  })
  default = {}
  validation {
    condition = alltrue([
      for name in values(var.function_names) : can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", name))
    ])
    error_message = "Function names must be lowercase letters, digits and hyphens, at most 50 characters."
  }
}

# ---------------------------------------------------------------------------------------------
# Function sizing. Event-driven functions time out at 540 s at most.

variable "export_function" {
  description = "Sizing of export_labeled_data (Pub/Sub labeling-complete)."
  type = object({
    memory_mb       = optional(number, 512)
    timeout_seconds = optional(number, 540)
    max_instances   = optional(number, 5)
  })
  default = {}
  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192], var.export_function.memory_mb)
    error_message = "memory_mb must be one of 256, 512, 1024, 2048, 4096, 8192."
  }
  validation {
    condition     = var.export_function.timeout_seconds >= 60 && var.export_function.timeout_seconds <= 540
    error_message = "timeout_seconds must be within 60..540 (the event-driven limit)."
  }
  validation {
    condition     = var.export_function.max_instances >= 1 && var.export_function.max_instances <= 100
    error_message = "max_instances must be within 1..100."
  }
}

variable "split_function" {
  description = "Sizing of split_export (object finalized in the export bucket). It streams, so memory grows with the distinct data items of an export, not its rows; memory_mb is also its SPLIT_MEMORY_MIB, the ceiling it refuses larger exports by (README \"Where the limits are\")."
  type = object({
    memory_mb       = optional(number, 1024)
    timeout_seconds = optional(number, 540)
    max_instances   = optional(number, 10)
  })
  default = {}
  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192], var.split_function.memory_mb)
    error_message = "memory_mb must be one of 256, 512, 1024, 2048, 4096, 8192."
  }
  validation {
    condition     = var.split_function.timeout_seconds >= 60 && var.split_function.timeout_seconds <= 540
    error_message = "timeout_seconds must be within 60..540 (the event-driven limit)."
  }
  validation {
    condition     = var.split_function.max_instances >= 1 && var.split_function.max_instances <= 100
    error_message = "max_instances must be within 1..100."
  }
}

# ---------------------------------------------------------------------------------------------
# Delivery of labeling-complete messages

variable "max_delivery_attempts" {
  description = "Deliveries of a labeling-complete message before it is moved to the dead-letter topic."
  type        = number
  default     = 5
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be within 5..100 (the Pub/Sub limits)."
  }
}

variable "retry_backoff" {
  description = "Exponential backoff between deliveries of a failed labeling-complete message."
  type = object({
    minimum = optional(string, "10s")
    maximum = optional(string, "600s")
  })
  default = {}
  validation {
    condition = alltrue([
      for d in values(var.retry_backoff) :
      try(can(regex("^[0-9]+s$", d)) && tonumber(trimsuffix(d, "s")) <= 600, false)
    ])
    error_message = "Backoffs are durations like \"10s\", within 0s..600s."
  }
}

variable "message_retention" {
  description = "How long topics keep messages (for replay by seek) and the dead-letter subscription keeps failed ones."
  type        = string
  default     = "604800s" # 7 days
  validation {
    condition = try(
      can(regex("^[0-9]+s$", var.message_retention))
      && tonumber(trimsuffix(var.message_retention, "s")) >= 600
      && tonumber(trimsuffix(var.message_retention, "s")) <= 2678400,
      false
    )
    error_message = "message_retention must be a duration like \"604800s\", within 600s..2678400s (31 days)."
  }
}

# ---------------------------------------------------------------------------------------------
# Storage

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept before it is removed."
  type        = number
  default     = 30
  validation {
    condition     = var.noncurrent_version_retention_days >= 1
    error_message = "noncurrent_version_retention_days must be at least 1."
  }
}

variable "export_retention_days" {
  description = "Days raw exports stay in the export bucket; null keeps them. Keep it well above the event age limit so a redelivered event still finds its export."
  type        = number
  default     = null
  validation {
    condition     = var.export_retention_days == null ? true : var.export_retention_days >= 7
    error_message = "export_retention_days must be null or at least 7."
  }
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete buckets that still hold objects. Off: data is never removed by accident."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Export backends (Data Labeling Service, Vertex AI) and build

variable "enable_datalabeling" {
  description = "Enable datalabeling.googleapis.com, let export_labeled_data call it (roles/datalabeling.editor) and let its service agent write the export bucket. Turn off when DATALABELING_ENDPOINT points at a stand-in: the service was shut down in 2024 and new projects cannot enable it."
  type        = bool
  default     = true
}

variable "enable_vertex" {
  description = "Enable aiplatform.googleapis.com, let export_labeled_data export and read Vertex AI datasets of this project (a custom role with aiplatform.datasets.export and aiplatform.datasets.get) and let the Vertex AI service agent create objects under exports/vertex/ in the export bucket. Turn off when VERTEX_ENDPOINT points at a stand-in or Vertex AI datasets are not used."
  type        = bool
  default     = true
}

variable "export_bucket_writers" {
  description = "Further principals (user:, group:, serviceAccount:) allowed to create objects in the export bucket, e.g. the identity of a stand-in export service."
  type        = list(string)
  default     = []
  validation {
    condition = alltrue([
      for m in var.export_bucket_writers :
      can(regex("^(user|group|serviceAccount|domain):.+", m))
    ])
    error_message = "Members must be user:, group:, serviceAccount: or domain: principals; public principals are refused."
  }
}

variable "build_service_account" {
  description = "Service account that builds the functions (projects/P/serviceAccounts/EMAIL); null uses the platform default. When set, it is allowed to read the source bucket."
  type        = string
  default     = null
  validation {
    condition = (
      var.build_service_account == null ? true
      : can(regex("^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$", var.build_service_account))
    )
    error_message = "build_service_account must be projects/PROJECT/serviceAccounts/EMAIL."
  }
}

# ---------------------------------------------------------------------------------------------
# Function settings: the environment variables of README.md ("Configuration").

variable "export_format" {
  description = "EXPORT_FORMAT: format the Data Labeling Service exports in."
  type        = string
  default     = "csv"
  validation {
    condition     = contains(["csv", "jsonl"], var.export_format)
    error_message = "export_format must be csv or jsonl."
  }
}

variable "datalabeling_endpoint" {
  description = "DATALABELING_ENDPOINT: base URL of the Data Labeling API (v1beta1 surface)."
  type        = string
  default     = "https://datalabeling.googleapis.com"
  validation {
    condition     = can(regex("^https://[^/]+(/.*)?$", var.datalabeling_endpoint))
    error_message = "datalabeling_endpoint must be an https:// URL (plain http is for loopback tests only)."
  }
}

variable "vertex_endpoint" {
  description = "VERTEX_ENDPOINT: base URL of the Vertex AI API (v1 surface); {location}, if present, is replaced by the dataset's location (the API is regional)."
  type        = string
  default     = "https://{location}-aiplatform.googleapis.com"
  validation {
    condition = (
      can(regex("^https://[a-z0-9.-]+(:[0-9]+)?/?$", replace(var.vertex_endpoint, "{location}", "us-central1")))
      && length(regexall("\\{location\\}", var.vertex_endpoint)) <= 1
    )
    error_message = "vertex_endpoint must be an https:// base URL without a path, with {location} at most once and only in the host name (plain http is for loopback tests only)."
  }
}

variable "unassigned_policy" {
  description = "UNASSIGNED_POLICY: assign unassigned rows by a deterministic hash split, or keep them apart."
  type        = string
  default     = "assign"
  validation {
    condition     = contains(["assign", "keep"], var.unassigned_policy)
    error_message = "unassigned_policy must be assign or keep."
  }
}

variable "split_ratios" {
  description = "SPLIT_RATIOS: train, validation, test percentages for the assign policy."
  type        = list(number)
  default     = [80, 10, 10]
  validation {
    condition = (
      length(var.split_ratios) == 3
      && alltrue([for r in var.split_ratios : r >= 0 && floor(r) == r])
      && sum(var.split_ratios) == 100
    )
    error_message = "split_ratios must be three whole, non-negative percentages adding up to 100."
  }
}

variable "max_reject_fraction" {
  description = "MAX_REJECT_FRACTION: above this share of rejected rows a run's status is rejected."
  type        = number
  default     = 0.01
  validation {
    condition     = var.max_reject_fraction >= 0 && var.max_reject_fraction <= 1
    error_message = "max_reject_fraction must be within 0..1."
  }
}

variable "min_items_per_label" {
  description = "MIN_ITEMS_PER_LABEL: a label with fewer annotations than this in a split is warned of in the manifest (1: off; Vertex AI asks for at least 10 per label)."
  type        = number
  default     = 1
  validation {
    condition     = var.min_items_per_label >= 1 && floor(var.min_items_per_label) == var.min_items_per_label
    error_message = "min_items_per_label must be a whole number of at least 1."
  }
}

variable "event_max_age_seconds" {
  description = "EVENT_MAX_AGE_SECONDS: older events are dropped with an error result, not retried."
  type        = number
  default     = 3600
  validation {
    condition     = var.event_max_age_seconds > 0
    error_message = "event_max_age_seconds must be positive."
  }
}

variable "operation_wait_seconds" {
  description = "OPERATION_WAIT_SECONDS: how long export_labeled_data follows the export operation; below the function timeout."
  type        = number
  default     = 300
  validation {
    condition     = var.operation_wait_seconds > 0 && var.operation_wait_seconds < var.export_function.timeout_seconds
    error_message = "operation_wait_seconds must be positive and below export_function.timeout_seconds."
  }
}
