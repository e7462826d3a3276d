"""The domain services one running tapwork needs, opened and closed together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.clock import Clock
from bot.config import Config
from bot.domain.errors import MissingDatabase
from bot.services.broadcast import Broadcasts
from bot.services.bursts import Bursts
from bot.services.catalog import Catalog
from bot.services.health import Health
from bot.services.insights import Insights
from bot.services.ledger import Payroll
from bot.services.meter import NO_METER, Meter
from bot.services.notice_delivery import NoticeDelivery
from bot.services.notices import Notices
from bot.services.quiz import Quizzes
from bot.services.reports import Reports
from bot.services.signin import SignIn
from bot.services.standing import QualityStanding
from bot.services.updates import UpdateClaims
from bot.services.work import Work
from bot.services.workers import Workers
from storage import Database, open_database


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock
    work: Work
    workers: Workers
    catalog: Catalog
    reports: Reports
    quizzes: Quizzes
    payroll: Payroll
    notices: Notices
    broadcasts: Broadcasts
    bursts: Bursts
    delivery: NoticeDelivery
    signin: SignIn
    insights: Insights
    health: Health
    updates: UpdateClaims

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None, *,
                   create: bool = True, meter: Meter = NO_METER) -> Services:
        """Open the database (running migrations) and wire the services on it.

        A plain function rather than ``post_init`` so tests and the CLI open exactly what
        ``tapwork run`` opens. ``create=False`` refuses a database file that does not exist
        yet, for commands that only read or change what is already there.
        """
        path = config.storage.path
        if not create and not config.storage.postgres and path != ":memory:" \
                and not await asyncio.to_thread(Path(path).is_file):
            raise MissingDatabase("there is no database at {path} yet (check storage.path "
                                  "in {where}, or create a project first with `tapwork "
                                  "project`)", path=path, where=config.source)
        clock = clock or Clock()
        db = await open_database(config.storage.target, threaded=config.storage.threaded)
        payroll = Payroll(db, clock, config.payouts)
        work = Work(db, clock, earnings=payroll, standing=QualityStanding(clock))
        work.meter = meter
        catalog = Catalog(db, clock)
        workers = Workers(db, clock, work)
        notices = Notices(db, clock)
        reports = Reports(db, clock, catalog, payroll)
        return cls(config=config, db=db, clock=clock, work=work,
                   workers=workers, catalog=catalog,
                   reports=reports, quizzes=Quizzes(work),
                   payroll=payroll, notices=notices,
                   broadcasts=Broadcasts(db, clock, catalog, work, config.broadcast,
                                         reports),
                   bursts=Bursts(db, clock, work),
                   delivery=NoticeDelivery(clock, notices, workers, work, catalog),
                   signin=SignIn(db, clock, config),
                   insights=Insights(db, catalog, reports),
                   health=Health(db), updates=UpdateClaims(db, clock))

    async def close(self) -> None:
        await self.reports.close()  # its threads read the database: stop them first
        await self.db.close()
