package main

import "embed"

// assets are the manifest and static files, built into the binary so the image needs no files.
//
//go:embed manifest.json static
var assets embed.FS
