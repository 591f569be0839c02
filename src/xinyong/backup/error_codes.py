"""The error codes of backup and restore (the CLI shows them; no route raises them)."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class BackupError(ErrorCode):
    MEMORY_STORE = ("memory_store", 422, "内存数据库无法备份或恢复",
                    "An in-memory database cannot be backed up or restored.")
    POSTGRESQL_STORE = ("postgresql_store", 422, "PostgreSQL 数据库请使用 pg_dump / pg_restore",
                        "Back up and restore a PostgreSQL database with pg_dump and pg_restore.")
    STORE_MISSING = ("store_missing", 422, "数据库文件不存在", "The database file does not exist.")
    BACKUP_IS_STORE = ("backup_is_store", 422, "备份文件就是当前数据库文件",
                       "The backup file is the database file itself.")
    BACKUP_EXISTS = ("backup_exists", 422, "备份文件已存在",
                     "The backup file exists; choose another name or overwrite it with --force.")
    BACKUP_MISSING = ("backup_missing", 422, "备份文件不存在", "The backup file does not exist.")
    NOT_A_BACKUP = ("not_a_backup", 422, "这不是 xinyong 的备份文件",
                    "The file is not a backup of this platform.")
    BACKUP_CORRUPT = ("backup_corrupt", 422, "备份文件已损坏", "The backup file is corrupt.")
    STORE_IN_USE = ("store_in_use", 422, "数据库正被使用，先停止服务再恢复",
                    "The database is in use; stop the server before restoring.")
    BACKUP_BROKEN = ("backup_broken", 400, "备份中的审计日志断裂，未恢复",
                     "The audit log of the backup does not verify; nothing was restored.")
