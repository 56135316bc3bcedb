module github.com/suzaku-go/suzaku

go 1.26

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/ws v1.5.0 // indirect
	github.com/thejerf/suture/v4 v4.0.6 // indirect
)
