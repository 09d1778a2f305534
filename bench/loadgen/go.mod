module barrage/bench/loadgen

go 1.22
