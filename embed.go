package main

import (
	"embed"

	// Users' time zones must resolve even in a minimal image without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// assets are the manifest and static files, built into the binary so the image needs no files.
//
//go:embed manifest.json static
var assets embed.FS
