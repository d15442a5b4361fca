module glomers.dev/challenges

go 1.24

require glomers.dev/maelstrom v0.0.0

replace glomers.dev/maelstrom => ../../sdk/go
