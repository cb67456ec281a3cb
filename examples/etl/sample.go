package main

import "embed"

// sampleFiles holds the sample input: two dozen sales of four products in
// four cities, with two rows a careful reader would reject (units "two", a
// blank region) to show the rejection report.
//
//go:embed sample_sales.csv
var sampleFiles embed.FS

// embeddedPrefix marks a Source that names a file of sampleFiles.
const embeddedPrefix = "embedded:"

// SampleSource is the Source of the embedded sample: the input when -csv is
// not given.
const SampleSource = embeddedPrefix + "sample_sales.csv"
