module klsb.local/cron-oracle

go 1.24

require github.com/robfig/cron v1.2.0
