"""The domain services one running tapwork needs, opened and closed together."""

from __future__ import annotations

from dataclasses import dataclass

from bot.assign import WorkLoop
from bot.broadcast import Broadcasts
from bot.bursts import Bursts
from bot.catalog import Catalog
from bot.clock import Clock
from bot.config import Config
from bot.ledger import Payroll
from bot.notices import Notices
from bot.quiz import Quizzes
from bot.reports import Reports
from bot.workers import Workers
from storage import Database


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock
    loop: WorkLoop
    workers: Workers
    catalog: Catalog
    reports: Reports
    quizzes: Quizzes
    payroll: Payroll
    notices: Notices
    broadcasts: Broadcasts
    bursts: Bursts

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Services:
        """Open the database (running migrations) and wire the services on it.

        A plain function rather than ``post_init`` so tests and the CLI open exactly what
        ``tapwork run`` opens.
        """
        clock = clock or Clock()
        db = await Database.open(config.storage.path, config.storage.threaded)
        loop = WorkLoop(db, clock)
        payroll = Payroll(db, loop, config.payouts)
        loop.on_accepted.append(payroll.earn)
        loop.on_done.append(payroll.item_resolved)
        catalog = Catalog(db, clock)
        return cls(config=config, db=db, clock=clock, loop=loop,
                   workers=Workers(db, clock, loop), catalog=catalog,
                   reports=Reports(db, clock, catalog, payroll), quizzes=Quizzes(loop),
                   payroll=payroll, notices=Notices(db, clock),
                   broadcasts=Broadcasts(db, clock, catalog, loop, config.broadcast),
                   bursts=Bursts(db, clock))

    async def close(self) -> None:
        await self.db.close()
