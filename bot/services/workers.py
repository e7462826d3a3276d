"""The people who work: first visit, consent, language, and blocking the bot."""

from __future__ import annotations

from bot.clock import Clock, to_iso
from bot.domain.languages import normalize, pack, phone_reads
from bot.domain.records import Standing, Worker
from bot.domain.timezones import default_zone
from bot.i18n import language_for
from bot.services.work import Work
from storage import Database
from storage import workers as worker_store


class Workers:
    def __init__(self, db: Database, clock: Clock, work: Work) -> None:
        self.db = db
        self.clock = clock
        self.work = work

    async def seen(self, user_id: int, first_name: str, language_code: str | None
                   ) -> Worker:
        """Record a visit. The first one fixes the interface language from Telegram's
        setting, with it a first time zone (Seoul for Korean, Shanghai for Chinese, else
        UTC), and takes the phone's language as the one language the worker reads (they
        add others in /settings, or when a project asks)."""
        language = language_for(language_code)
        async with self.db.transaction() as conn:
            return await worker_store.upsert_seen(
                conn, user_id, first_name, language, phone_reads(language_code),
                to_iso(self.clock.now()), default_zone(language))

    async def add_language(self, user_id: int, language: str) -> Worker | None:
        """The worker said they read ``language`` too; None for someone who never started
        (a forged or forwarded button), who has no languages to add to."""
        async with self.db.transaction() as conn:
            row = await worker_store.get(conn, user_id)
            if row is None:
                return None
            reads = pack({*row.reads, normalize(language)})
            await worker_store.update_settings(conn, user_id, reads=reads)
            updated = await worker_store.get(conn, user_id)
        assert updated is not None
        return updated

    async def get(self, user_id: int) -> Worker | None:
        async with self.db.read() as conn:
            return await worker_store.get(conn, user_id)

    async def consent(self, user_id: int) -> bool:
        """True the first time; a second tap on "I agree" changes nothing."""
        async with self.db.transaction() as conn:
            return await worker_store.set_consent(conn, user_id, to_iso(self.clock.now()))

    async def update(self, user_id: int, **values: object) -> Worker:
        """Change settings (``notify``, ``timezone``, ``quiet_start`` …); returns the row."""
        async with self.db.transaction() as conn:
            await worker_store.update_settings(conn, user_id, **values)
            row = await worker_store.get(conn, user_id)
        assert row is not None
        return row

    async def standing(self, user_id: int) -> list[Standing]:
        async with self.db.read() as conn:
            return await worker_store.standing(conn, user_id)

    async def set_display_name(self, user_id: int, name: str | None) -> None:
        """Opt in to (a name) or out of (None) being named on the leaderboard."""
        async with self.db.transaction() as conn:
            await worker_store.set_display_name(conn, user_id, name or None)

    async def blocked(self, user_id: int) -> None:
        """Telegram said Forbidden: send nothing more, and free their open item now."""
        await self.work.release_blocked_worker(user_id)
