"""The usage inputs of the cost preview, as the stack file (`elastio:usage`, `regions[].vaults[].usage`) and the
cost model (`python -m cost`) both take them: their names and bounds, stated once. Standard library only, so
the cost tool reads them without the components' dependencies."""

# snake_case field -> the stack file's camelCase key
CONFIG_NAMES = {
    "protected_gb": "protectedGb",
    "daily_change_rate": "dailyChangeRate",
    "retention_days": "retentionDays",
    "data_profile": "dataProfile",
    "change_rate_basis": "changeRateBasis",
}
PROTECTED_GB_MIN = 0.0
DAILY_CHANGE_RATE_MIN = 0.0
DAILY_CHANGE_RATE_MAX = 1.0  # a share of the data, not a percentage
RETENTION_DAYS_MIN = 1
RETENTION_DAYS_MAX = 3650  # ten years of daily recovery points
# What `dailyChangeRate` measures: the share of the data rewritten a day, or of the 512 KiB blocks changed a day.
CHANGE_RATE_BASES = ("data", "blocks")
