/// Limits every ingest protocol enforces, each with Loki's default.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    /// Longest accepted line (Loki's `max_line_size`, 256 KiB).
    pub max_line_size_bytes: usize,
    /// Largest accepted body, compressed or not (16 MiB).
    pub max_request_size_bytes: usize,
    /// Most labels on one stream (Loki's `max_label_names_per_series`, 15).
    pub max_label_names_per_series: usize,
    /// Longest label name (Loki: 1024).
    pub max_label_name_length: usize,
    /// Longest label value (Loki: 2048).
    pub max_label_value_length: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_line_size_bytes: 256 * 1024,
            max_request_size_bytes: 16 * 1024 * 1024,
            max_label_names_per_series: 15,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
        }
    }
}
