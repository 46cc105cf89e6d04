"""Data sets of NMPAB/T 1004 that a trace system (疫苗追溯系统) keeps, as typed models.

Field names are English; each field's description carries the standard's Chinese label. These
models are the validation layer for the API, the CLI import and the simulator alike.

- :mod:`.elements`: the data elements (数据元) every data set is built from, the base model
  and the header every write carries;
- :mod:`.basic_data`: basic information (基础信息): organisations, vaccine products, coding
  rules;
- :mod:`.production`: production (生产): batches, commissioning (赋码), packaging, production
  warehousing, self-inspection and lot release;
- :mod:`.movements`: shipping notes (发货单), sales returns and destruction;
- :mod:`.recalls`: recalls (召回), their closure and the recalled goods coming back;
- :mod:`.locks`: locks (锁定) and unlocks;
- :mod:`.corrections`: corrections (更正) of an earlier event's header;
- :mod:`.temperature`: temperature records (温度记录).
"""
