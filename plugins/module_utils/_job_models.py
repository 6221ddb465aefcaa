# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# This file is internal to the veeam_em.core collection and may change in any release.
"""The Job settings model, declared once as ordered data.

Blocks are listed in the document order of the EM ``Job`` entity (v1_7), and
``SCHEMA_ORDER`` gives the child sequence of every element the PUT body may
contain. ``_model`` turns this into the argument spec, the decoder, the encoder
and the diff. The few cross-field rules (one schedule kind at a time, the GFS
master switch, the chained job looked up by name) are small classes at the end.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.veeam_em.core.plugins.module_utils._model import (
    Block, Group, JobModel, Leaf, MONTHS, WEEKDAYS,
)
from ansible_collections.veeam_em.core.plugins.module_utils._errors import ValidationError


def _enum(*pairs):
    return dict(pairs)


DAYS = _enum(*[(d, d.capitalize()) for d in WEEKDAYS])
MONTH_NAMES = _enum(*[(m, m.capitalize()) for m in MONTHS])

STD = ('JobScheduleOptions', 'Standart')
ICM = ('JobScheduleOptions', 'ImmediateCopyMode')
BJI = ('JobInfo', 'BackupJobInfo')
RJI = ('JobInfo', 'ReplicaJobInfo')

SCHEMA_ORDER = {
    'Job': ('Links', 'JobType', 'Platform', 'Description', 'ScheduleConfigured', 'ScheduleEnabled', 'NextRun',
            'JobScheduleOptions', 'JobInfo'),
    'JobScheduleOptions': ('Standart', 'ImmediateCopyMode'),
    'Standart': ('RetryOptions', 'WaitForBackupCompletion', 'BackupCompetitionWaitingPeriodMin', 'OptionsDaily',
                 'OptionsMonthly', 'OptionsPeriodically', 'OptionsContinuous', 'OptionsBackupWindow',
                 'OptionsDaisyChaining'),
    'ImmediateCopyMode': ('OptionsContinuous',),
    'RetryOptions': ('RetryTimes', 'RetryTimeout', 'RetrySpecified'),
    'OptionsDaily': ('Kind', 'Days', 'Time', 'TimeOffsetUtc'),
    'OptionsMonthly': ('Time', 'TimeOffsetUtc', 'DayNumberInMonth', 'DayOfWeek', 'Months', 'DayOfMonth'),
    'OptionsPeriodically': ('Kind', 'FullPeriod', 'Schedule'),
    'OptionsContinuous': ('Schedule',),
    'OptionsBackupWindow': ('TimePeriods',),
    'OptionsDaisyChaining': ('PreviousJobUid',),
    'Schedule': ('Day',),
    'TimePeriods': ('Day',),
    'JobInfo': ('BackupJobInfo', 'FileCopyJobInfo', 'ReplicaJobInfo', 'BackupCopyJobInfo', 'ImmediateBackupCopyJobInfo'),
    'BackupJobInfo': ('Includes', 'GuestProcessingOptions', 'AdvancedStorageOptions', 'GfsRetentionPolicy',
                      'SimpleRetentionPolicy'),
    'ReplicaJobInfo': ('Includes', 'GuestProcessingOptions'),
    'CreateObjectInJobSpec': ('HierarchyObjRef', 'HierarchyObjName', 'Order', 'GuestProcessingOptions'),
    'GuestProcessingOptions': ('AppAwareProcessingMode', 'FileSystemIndexingMode', 'IncludedIndexingFolders',
                               'ExcludedIndexingFolders', 'CredentialsId', 'VssSnapshotOptions',
                               'WindowsGuestFSIndexingOptions', 'LinuxGuestFSIndexingOptions', 'SqlBackupOptions',
                               'WindowsCredentialsId', 'LinuxCredentialsId', 'FSFileExcludeOptions', 'OracleBackupOptions'),
    'VssSnapshotOptions': ('VssSnapshotMode', 'IsCopyOnly', 'UsePersistentGuestAgent'),
    'WindowsGuestFSIndexingOptions': ('FileSystemIndexingMode', 'IncludedIndexingFolders', 'ExcludedIndexingFolders'),
    'LinuxGuestFSIndexingOptions': ('FileSystemIndexingMode', 'IncludedIndexingFolders', 'ExcludedIndexingFolders'),
    'IncludedIndexingFolders': ('Path',),
    'ExcludedIndexingFolders': ('Path',),
    'SqlBackupOptions': ('TransactionLogsProcessing', 'BackupLogsFrequencyMin', 'UseDbBackupRetention', 'RetainDays'),
    'GfsRetentionPolicy': ('Weekly', 'Monthly', 'Yearly'),
    'Weekly': ('Enabled', 'RetentionPeriod', 'SelectedDay'),
    'Monthly': ('Enabled', 'RetentionPeriod', 'SelectedWeek'),
    'Yearly': ('Enabled', 'RetentionPeriod', 'SelectedMonth'),
    'SimpleRetentionPolicy': ('RetainCycles', 'RetainDaysToKeep', 'RetainLimitType'),
}

ENABLED = ('@Enabled',)
SCHEDULE_KINDS = ('daily', 'monthly', 'periodically', 'continuous', 'after_job')


def _window(prefix, container, what):
    """Seven day leaves of an hour mask (``TimePeriodsType``)."""
    return [Leaf(prefix + (day,), (container, ('Day', day.capitalize())), 'hours',
                 doc='Hours of %s when %s, as ranges such as C(8-17) or C(0-6,20-24); C(0-24) is all day, '
                     'an empty string none. Days left out keep their current hours.' % (day.capitalize(), what))
            for day in WEEKDAYS]


def _indexing(key, bases, xml, system):
    opt = ('guest_processing', key)
    return Block(key, [base + (xml,) for base in bases], [
        Leaf(opt + ('mode',), ('FileSystemIndexingMode',), 'enum', choices=_enum(
            ('disabled', 'Disabled'), ('every_folders', 'EveryFolders'), ('specified_folders', 'SpecifiedFolders'),
            ('except_specified_folders', 'ExceptSpecifiedFolders')),
            doc='%s guest file system indexing (C(FileSystemIndexingMode)).' % system),
        Leaf(opt + ('include',), ('IncludedIndexingFolders', 'Path'), 'str_list',
             doc='Folders to index with I(mode=specified_folders); replaces the whole list.'),
        Leaf(opt + ('exclude',), ('ExcludedIndexingFolders', 'Path'), 'str_list',
             doc='Folders not to index with I(mode=except_specified_folders); replaces the whole list.'),
    ])


def guest_blocks(bases):
    """The blocks of C(GuestProcessingOptions), found under each of ``bases`` (a job's, or an included object's)."""
    return [
        Block('app_aware', [base + ('VssSnapshotOptions',) for base in bases], [
            Leaf(('guest_processing', 'app_aware', 'mode'), ('VssSnapshotMode',), 'enum', choices=_enum(
                ('require_success', 'RequireSuccess'), ('ignore_failures', 'IgnoreFailures'), ('disabled', 'Disabled')),
                doc='Application-aware processing (C(VssSnapshotMode)): require success, ignore failures, or off.'),
            Leaf(('guest_processing', 'app_aware', 'copy_only'), ('IsCopyOnly',), 'bool',
                 doc='Copy-only backups that leave application log chains alone (C(IsCopyOnly)).'),
        ]),
        _indexing('windows_indexing', bases, 'WindowsGuestFSIndexingOptions', 'Windows'),
        _indexing('linux_indexing', bases, 'LinuxGuestFSIndexingOptions', 'Linux'),
        Block('sql', [base + ('SqlBackupOptions',) for base in bases], [
            Leaf(('guest_processing', 'sql', 'transaction_logs'), ('TransactionLogsProcessing',), 'enum', choices=_enum(
                ('only_on_success_job', 'OnlyOnSuccessJob'), ('backup', 'Backup'), ('never', 'Never')),
                doc='SQL Server transaction logs: truncate after a successful job, back them up, or leave them '
                    '(C(TransactionLogsProcessing)).'),
            Leaf(('guest_processing', 'sql', 'backup_logs_frequency_min'), ('BackupLogsFrequencyMin',), 'int', minimum=1,
                 doc='Back the logs up every this many minutes (C(BackupLogsFrequencyMin)).'),
            Leaf(('guest_processing', 'sql', 'use_db_backup_retention'), ('UseDbBackupRetention',), 'bool',
                 doc='Keep log backups as long as the image-level backups (C(UseDbBackupRetention)).'),
            Leaf(('guest_processing', 'sql', 'retain_days'), ('RetainDays',), 'int', minimum=1,
                 doc='Otherwise keep log backups this many days (C(RetainDays)).'),
        ]),
    ]


BLOCKS = tuple([
    Block('description', [('Description',)], [
        Leaf(('description',), (), 'str', doc='The job description (C(Description)). An empty string clears it.'),
    ]),
    Block('schedule_configured', [('ScheduleConfigured',)], [Leaf(None, (), 'bool')]),
    Block('schedule_enabled', [('ScheduleEnabled',)], [
        Leaf(('schedule_enabled',), (), 'bool',
             doc='Whether the job runs on its schedule (C(ScheduleEnabled)); C(false) is "Disable" in the console.'),
    ]),
    Block('retry', [STD + ('RetryOptions',)], [
        Leaf(('schedule', 'retry', 'times'), ('RetryTimes',), 'int', minimum=1,
             doc='How many times a failed run is retried (C(RetryTimes)).'),
        Leaf(('schedule', 'retry', 'wait_minutes'), ('RetryTimeout',), 'int', minimum=1,
             doc='Minutes to wait before each retry (C(RetryTimeout)).'),
        Leaf(('schedule', 'retry', 'enabled'), ('RetrySpecified',), 'bool',
             doc='Whether failed runs are retried (C(RetrySpecified)).'),
    ]),
    Block('daily', [STD + ('OptionsDaily',)], [
        Leaf(None, ENABLED, 'bool'),
        Leaf(('schedule', 'daily', 'kind'), ('Kind',), 'enum',
             choices=_enum(('everyday', 'Everyday'), ('weekdays', 'WeekDays'), ('selected_days', 'SelectedDays')),
             doc='Every day, on weekdays, or on the days in I(days) (C(Kind)).'),
        Leaf(('schedule', 'daily', 'days'), ('Days',), 'enum_list', choices=DAYS,
             doc='The days the job runs with I(kind=selected_days) (C(Days)); order does not matter.'),
        Leaf(('schedule', 'daily', 'time'), ('Time',), 'time',
             doc='Start time, C(HH:MM) on the backup server\'s clock (C(Time)); the server keeps its UTC offset.'),
    ], enabled_attr=True),
    Block('monthly', [STD + ('OptionsMonthly',)], [
        Leaf(None, ENABLED, 'bool'),
        Leaf(('schedule', 'monthly', 'time'), ('Time',), 'time', doc='Start time, C(HH:MM) (C(Time)).'),
        Leaf(('schedule', 'monthly', 'day_number_in_month'), ('DayNumberInMonth',), 'enum', choices=_enum(
            ('first', 'First'), ('second', 'Second'), ('third', 'Third'), ('fourth', 'Fourth'), ('last', 'Last'),
            ('on_day', 'OnDay')),
            doc='Which I(day_of_week) of the month, or C(on_day) for the date in I(day_of_month) (C(DayNumberInMonth)).'),
        Leaf(('schedule', 'monthly', 'day_of_week'), ('DayOfWeek',), 'enum', choices=DAYS,
             doc='The weekday the job runs on (C(DayOfWeek)).'),
        Leaf(('schedule', 'monthly', 'months'), ('Months',), 'enum_list', choices=MONTH_NAMES,
             doc='The months the job runs in (C(Months)); order does not matter.'),
        Leaf(('schedule', 'monthly', 'day_of_month'), ('DayOfMonth',), 'int', minimum=1, maximum=31,
             doc='Day of the month, 1 to 31, with I(day_number_in_month=on_day) (C(DayOfMonth)).'),
    ], enabled_attr=True),
    Block('periodically', [STD + ('OptionsPeriodically',)], [
        Leaf(None, ENABLED, 'bool'),
        Leaf(('schedule', 'periodically', 'kind'), ('Kind',), 'enum', choices=_enum(('hours', 'Hours'), ('minutes', 'Minutes')),
             doc='Unit of I(full_period) (C(Kind)).'),
        Leaf(('schedule', 'periodically', 'full_period'), ('FullPeriod',), 'int', minimum=1,
             doc='Run every this many hours (1 to 24) or minutes (1 to 60) (C(FullPeriod)).'),
    ] + _window(('schedule', 'periodically', 'window'), 'Schedule', 'periodic runs may start'), enabled_attr=True),
    Block('continuous', [STD + ('OptionsContinuous',), ICM + ('OptionsContinuous',)], [
        Leaf(None, ENABLED, 'bool'),
    ] + _window(('schedule', 'continuous', 'window'), 'Schedule', 'the job may run'), enabled_attr=True),
    Block('backup_window', [STD + ('OptionsBackupWindow',)], [
        Leaf(('schedule', 'backup_window', 'enabled'), ENABLED, 'bool',
             doc='Whether the backup window applies (C(OptionsBackupWindow/@Enabled)). Giving any day enables it '
                 'unless this says C(false).'),
    ] + _window(('schedule', 'backup_window'), 'TimePeriods', 'the job may run'), enabled_attr=True),
    Block('after_job', [STD + ('OptionsDaisyChaining',)], [
        Leaf(None, ENABLED, 'bool'),
        Leaf(('schedule', 'after_job',), ('PreviousJobUid',), 'uid',
             doc='Run after this job (a job name on the same backup server) finishes '
                 '(C(OptionsDaisyChaining/PreviousJobUid), looked up by name).'),
    ], enabled_attr=True),
] + guest_blocks((BJI + ('GuestProcessingOptions',), RJI + ('GuestProcessingOptions',))) + [
    Block('gfs', [BJI + ('GfsRetentionPolicy',)], [
        Leaf(('gfs', 'enabled'), ENABLED, 'bool',
             doc='The GFS policy switch (C(GfsRetentionPolicy/@Enabled)). Left out, it follows the levels whose '
                 'I(enabled) you declare: on if any is on, off if all are off. The levels keep their own settings '
                 'while the policy is off.'),
        Leaf(('gfs', 'weekly', 'enabled'), ('Weekly', 'Enabled'), 'bool', doc='Keep weekly full backups.'),
        Leaf(('gfs', 'weekly', 'keep'), ('Weekly', 'RetentionPeriod'), 'int', minimum=1, doc='Weeks to keep them.'),
        Leaf(('gfs', 'weekly', 'day'), ('Weekly', 'SelectedDay'), 'enum', choices=DAYS,
             doc='Day of the week whose full backup is kept.'),
        Leaf(('gfs', 'monthly', 'enabled'), ('Monthly', 'Enabled'), 'bool', doc='Keep monthly full backups.'),
        Leaf(('gfs', 'monthly', 'keep'), ('Monthly', 'RetentionPeriod'), 'int', minimum=1, doc='Months to keep them.'),
        Leaf(('gfs', 'monthly', 'week'), ('Monthly', 'SelectedWeek'), 'enum', choices=_enum(('first', 'First'), ('last', 'Last')),
             doc='Week of the month whose full backup is kept.'),
        Leaf(('gfs', 'yearly', 'enabled'), ('Yearly', 'Enabled'), 'bool', doc='Keep yearly full backups.'),
        Leaf(('gfs', 'yearly', 'keep'), ('Yearly', 'RetentionPeriod'), 'int', minimum=1, doc='Years to keep them.'),
        Leaf(('gfs', 'yearly', 'month'), ('Yearly', 'SelectedMonth'), 'enum', choices=MONTH_NAMES,
             doc='Month whose full backup is kept.'),
    ], enabled_attr=True),
    Block('retention', [BJI + ('SimpleRetentionPolicy',)], [
        Leaf(('retention', 'restore_points'), ('RetainCycles',), 'int', minimum=1,
             doc='Restore points to keep with I(type=restore_points) (C(RetainCycles)).'),
        Leaf(('retention', 'days'), ('RetainDaysToKeep',), 'int', minimum=1,
             doc='Days of restore points to keep with I(type=days) (C(RetainDaysToKeep)).'),
        Leaf(('retention', 'type'), ('RetainLimitType',), 'enum', choices=_enum(('restore_points', 'Cycles'), ('days', 'Days')),
             doc='Keep a number of restore points or a number of days (C(RetainLimitType)).'),
    ]),
])

GUEST_GROUPS = (
    Group(('guest_processing', 'app_aware'), 'Application-aware processing (C(VssSnapshotOptions)).'),
    Group(('guest_processing', 'windows_indexing'), 'Windows file indexing (C(WindowsGuestFSIndexingOptions)).'),
    Group(('guest_processing', 'linux_indexing'), 'Linux file indexing (C(LinuxGuestFSIndexingOptions)).'),
    Group(('guest_processing', 'sql'), 'SQL Server transaction log handling (C(SqlBackupOptions)).'),
)

GROUPS = (
    Group(('schedule',), 'When the job runs (C(JobScheduleOptions/Standart), or C(ImmediateCopyMode) for immediate '
                         'copy jobs). Choosing one of I(daily), I(monthly), I(periodically), I(continuous) or '
                         'I(after_job) enables it and disables the others, as the console does.',
          mutually_exclusive=SCHEDULE_KINDS),
    Group(('schedule', 'daily'), 'Run once a day (C(OptionsDaily)).'),
    Group(('schedule', 'monthly'), 'Run once a month (C(OptionsMonthly)).'),
    Group(('schedule', 'periodically'), 'Run every few hours or minutes (C(OptionsPeriodically)).'),
    Group(('schedule', 'periodically', 'window'), 'Hours in which periodic runs may start (C(Schedule)).'),
    Group(('schedule', 'continuous'), 'Run continuously (C(OptionsContinuous)); C({}) chooses it without a window.'),
    Group(('schedule', 'continuous', 'window'), 'Hours in which the job may run (C(Schedule)).'),
    Group(('schedule', 'backup_window'), 'Hours in which the job may run at all (C(OptionsBackupWindow)).'),
    Group(('schedule', 'retry'), 'Automatic retry of failed runs (C(RetryOptions)).'),
    Group(('retention',), 'Short-term retention (C(JobInfo/BackupJobInfo/SimpleRetentionPolicy)); backup jobs only.'),
    Group(('gfs',), 'Long-term GFS retention (C(GfsRetentionPolicy)); backup jobs only. Enabling any level enables '
                    'the policy, disabling every level disables it, unless I(enabled) says otherwise.'),
    Group(('gfs', 'weekly'), 'Weekly full backups kept for archival (C(Weekly)).'),
    Group(('gfs', 'monthly'), 'Monthly full backups kept for archival (C(Monthly)).'),
    Group(('gfs', 'yearly'), 'Yearly full backups kept for archival (C(Yearly)).'),
    Group(('guest_processing',), 'Guest processing of backup and replication jobs (C(GuestProcessingOptions)).'),
) + GUEST_GROUPS


def _given(params, *path):
    node = params
    for name in path:
        if not isinstance(node, dict):
            return None
        node = node.get(name)
    return node


PERIOD_LIMITS = (('hours', 24), ('minutes', 60))


def check_period(period, unit):
    """Refuse a ``full_period`` out of range for ``unit``; with no unit (the job's is not known yet), for both."""
    if not isinstance(period, int) or isinstance(period, bool):
        return
    limits = dict(PERIOD_LIMITS)
    if unit in limits:
        if not 1 <= period <= limits[unit]:
            raise ValidationError('schedule.periodically.full_period: %s %s is out of range; accepted: 1 to %d'
                                  % (period, unit, limits[unit]), option='schedule.periodically.full_period')
    elif unit is None and not 1 <= period <= max(limits.values()):
        raise ValidationError('schedule.periodically.full_period: %s is out of range for every kind; accepted: %s'
                              % (period, ' or '.join('1 to %d %s' % (n, k) for k, n in PERIOD_LIMITS)),
                              option='schedule.periodically.full_period')


class ScheduleKinds:
    """One schedule kind at a time; the chosen one is enabled and the others are disabled."""

    def check(self, model, params, wanted):
        for kind in SCHEDULE_KINDS:
            if _given(params, 'schedule', kind) is not None:
                wanted[(kind, ENABLED)] = True
        daily = _given(params, 'schedule', 'daily') or {}
        if daily.get('kind') == 'selected_days' and daily.get('days') == []:
            raise ValidationError('schedule.daily.days: kind selected_days needs at least one day',
                                  option='schedule.daily.days')
        monthly = _given(params, 'schedule', 'monthly') or {}
        if monthly.get('months') == []:
            raise ValidationError('schedule.monthly.months: give at least one month', option='schedule.monthly.months')
        after = _given(params, 'schedule', 'after_job')
        if after is not None and not after.strip():
            raise ValidationError('schedule.after_job: give the name of the job to run after', option='schedule.after_job')
        if after is not None and after == params.get('name'):
            raise ValidationError('schedule.after_job: a job cannot run after itself (%r)' % after, option='schedule.after_job')
        periodic = _given(params, 'schedule', 'periodically') or {}
        check_period(periodic.get('full_period'), periodic.get('kind'))

    def derive(self, model, wanted, target, managed, available, resolver):
        chosen = [k for k in SCHEDULE_KINDS if wanted.get((k, ENABLED))]
        if chosen:
            for kind in SCHEDULE_KINDS:
                if kind in available:
                    target[(kind, ENABLED)] = kind in chosen
                    managed.add((kind, ENABLED))
            if 'schedule_configured' in available:
                target[('schedule_configured', ())] = True
                managed.add(('schedule_configured', ()))
        if ('daily', ('Kind',)) in wanted and target.get(('daily', ('Kind',))) == 'selected_days' \
                and not target.get(('daily', ('Days',))):
            raise ValidationError('schedule.daily.days: kind selected_days needs at least one day, and the job has '
                                  'none; give days', option='schedule.daily.days')
        key = ('after_job', ('PreviousJobUid',))
        if key in wanted:
            if resolver is None:
                raise ValidationError('schedule.after_job: cannot look the job up here', option='schedule.after_job')
            target[key] = resolver.job_uid(wanted[key])
        if wanted.get(('periodically', ENABLED)) or ('periodically', ('FullPeriod',)) in wanted:
            # Only here when the unit or the period comes from the job; the options alone were checked before.
            check_period(target.get(('periodically', ('FullPeriod',))), target.get(('periodically', ('Kind',))))

    def view(self, model, values, out, resolver):
        sched = out.get('schedule')
        if sched is None:
            return
        configured = values.get(('schedule_configured', ()))
        for kind in SCHEDULE_KINDS:
            if kind in sched and not (configured is not False and values.get((kind, ENABLED))):
                del sched[kind]
        if 'after_job' in sched:
            uid = values.get(('after_job', ('PreviousJobUid',)))
            sched['after_job'] = resolver.job_name(uid) if (resolver is not None and uid) else uid
        if not sched:
            del out['schedule']


class BackupWindow:
    """Declaring window hours enables the window unless ``enabled`` says otherwise."""

    def check(self, model, params, wanted):
        window = _given(params, 'schedule', 'backup_window') or {}
        if any(window.get(d) is not None for d in WEEKDAYS) and window.get('enabled') is None:
            wanted[('backup_window', ENABLED)] = True

    def derive(self, model, wanted, target, managed, available, resolver):
        return None

    def view(self, model, values, out, resolver):
        return None


class GfsSwitch:
    """``GfsRetentionPolicy/@Enabled`` follows the declared levels (on if any is on) unless declared itself."""

    LEVELS = (('Weekly', 'Enabled'), ('Monthly', 'Enabled'), ('Yearly', 'Enabled'))

    def check(self, model, params, wanted):
        return None

    def derive(self, model, wanted, target, managed, available, resolver):
        if ('gfs', ENABLED) not in wanted and any(('gfs', level) in wanted for level in self.LEVELS):
            target[('gfs', ENABLED)] = any(target.get(('gfs', level)) for level in self.LEVELS)
            managed.add(('gfs', ENABLED))

    def view(self, model, values, out, resolver):
        return None


JOB_MODEL = JobModel(BLOCKS, GROUPS, SCHEMA_ORDER, (ScheduleKinds(), BackupWindow(), GfsSwitch()))

# The guest processing of one included object (``ObjectInJob`` and ``CreateObjectInJobSpec``): the same
# blocks as the job's, one level down.
INCLUDE_GUEST_MODEL = JobModel(guest_blocks((('GuestProcessingOptions',),)),
                               (Group(('guest_processing',), 'Guest processing of this object.'),) + GUEST_GROUPS,
                               SCHEMA_ORDER, ())
